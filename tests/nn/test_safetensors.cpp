// safetensors checkpoints: round trips, the exact bytes the format prescribes, files written by
// other implementations, and clear errors for every kind of damaged file.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "autograd/random.h"
#include "nn/safetensors.h"
#include "tests/fixtures/fixtures.h"

using namespace lumen;
using namespace lumen::nn;
using lumen::testing::fixture;
using lumen::testing::read_bytes;
using lumen::testing::TempDir;
using lumen::testing::write_bytes;
using Catch = doctest::Contains;

namespace {

// A file made of a length prefix (the header's size unless `length` overrides it), header and data.
std::string st_file(const std::string& header, const std::string& data, std::uint64_t length = UINT64_MAX) {
  if (length == UINT64_MAX) length = header.size();
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((length >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::vector<double> values(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace

TEST_SUITE("checkpoint") {
  TEST_CASE("safetensors: F32, F64 and I64 round trip, 0-d and empty included") {
    TempDir dir("st");
    Generator gen(11);
    Tensor w = randn({3, 4}, {}, &gen);
    Tensor d = randn({5}, {.dtype = DType::float64}, &gen);
    Tensor i = tensor_from({0, -1, std::numeric_limits<std::int64_t>::max(), std::numeric_limits<std::int64_t>::min()});
    Tensor s = scalar_tensor(2.5);
    Tensor e = zeros({0, 5});
    Tensor ei = tensor_from({}, {0});
    Tensor wt = w.t();  // not contiguous: saved as its values, row-major
    const std::string p = dir / "model.safetensors";
    save_safetensors(p, {{"layer.weight", w}, {"d", d}, {"idx", i}, {"scalar", s}, {"empty", e}, {"empty_i", ei},
                         {"transposed", wt}},
                     {{"format", "pt"}, {"epoch", "3"}});
    auto loaded = load_safetensors(p);
    REQUIRE(loaded.size() == 7);
    CHECK(loaded["layer.weight"].shape() == Shape{3, 4});
    CHECK(loaded["layer.weight"].to_vector<float>() == w.to_vector<float>());
    CHECK(loaded["d"].dtype() == DType::float64);
    CHECK(loaded["d"].to_vector<double>() == d.to_vector<double>());
    CHECK(loaded["idx"].dtype() == DType::int64);
    CHECK(loaded["idx"].to_vector<std::int64_t>() == i.to_vector<std::int64_t>());
    CHECK(loaded["scalar"].dim() == 0);
    CHECK(loaded["scalar"].item() == 2.5);
    CHECK(loaded["empty"].shape() == Shape{0, 5});
    CHECK(loaded["empty_i"].shape() == Shape{0});
    CHECK(loaded["empty_i"].dtype() == DType::int64);
    CHECK(loaded["transposed"].shape() == Shape{4, 3});
    CHECK(loaded["transposed"].to_vector<float>() == wt.to_vector<float>());
    CHECK(read_safetensors_metadata(p) == std::map<std::string, std::string>{{"epoch", "3"}, {"format", "pt"}});

    // Saving again replaces the file; no temporary file is left behind.
    save_safetensors(p, {{"only", s}});
    CHECK(load_safetensors(p).size() == 1);
    CHECK(read_safetensors_metadata(p).empty());
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path), std::filesystem::directory_iterator()) == 1);
  }

  TEST_CASE("safetensors: the bytes are exactly the format's") {
    TempDir dir("st-bytes");
    // As in the reference implementation's own serialization test: the JSON has no spaces, keys in
    // the order dtype, shape, data_offsets, and is padded with spaces to a multiple of 8 bytes.
    save_safetensors(dir / "a", {{"test", zeros({2, 2})}});
    const std::string json = R"({"test":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})";
    CHECK(json.size() == 60);
    CHECK(read_bytes(dir / "a") == st_file(json + "    ", std::string(16, '\0')));

    // Metadata first, then the tensors in the order given, their bytes back to back, little-endian.
    save_safetensors(dir / "b", {{"z", tensor({1.0, -2.0})}, {"a", scalar_tensor(258, {.dtype = DType::int64})}},
                     {{"k", "v"}});
    const std::string json_b = R"({"__metadata__":{"k":"v"},"z":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("a":{"dtype":"I64","shape":[],"data_offsets":[8,16]}})";
    const std::string padded = json_b + std::string((8 - json_b.size() % 8) % 8, ' ');
    const std::string data("\x00\x00\x80\x3f\x00\x00\x00\xc0\x02\x01\x00\x00\x00\x00\x00\x00", 16);
    CHECK(read_bytes(dir / "b") == st_file(padded, data));
  }

  TEST_CASE("safetensors: reads files written by other implementations") {
    TempDir dir("st-ref");
    // The reference Python package's serialization of np.zeros((2, 2), int32) with [1, 1] = 1 (its
    // test_simple.py): padded header, and an older unpadded one with metadata.
    write_bytes(dir / "ref", st_file(R"({"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}})" "    ",
                                     std::string("\0\0\0\0\0\0\0\0\0\0\0\0\x01\0\0\0", 16)));
    auto ref = load_safetensors(dir / "ref");
    CHECK(ref["test"].dtype() == DType::int64);
    CHECK(ref["test"].shape() == Shape{2, 2});
    CHECK(values(ref["test"]) == std::vector<double>{0, 0, 0, 1});
    write_bytes(dir / "old",
                st_file(R"({"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],)"
                        R"("data_offsets":[0,16]}})" "       ",
                        std::string(16, '\0')));
    CHECK(read_safetensors_metadata(dir / "old") == std::map<std::string, std::string>{{"framework", "pt"}});
    CHECK(values(load_safetensors(dir / "old")["test1"]) == std::vector<double>{0, 0, 0, 0});

    // tests/fixtures/mixed-dtypes.safetensors, written with Python's struct (see make_fixtures.py):
    // the dtypes lumen widens, F16 and BF16 to float32 and the integers to int64.
    auto m = load_safetensors(fixture("mixed-dtypes.safetensors"));
    REQUIRE(m.size() == 6);
    CHECK(values(m["i32"]) == std::vector<double>{1, -2, 3, 2147483647});
    CHECK(m["f16"].dtype() == DType::float32);
    CHECK(values(m["f16"]) == std::vector<double>{1.0, -2.5, 65504.0});
    CHECK(values(m["bf16"]) == std::vector<double>{1.0, -3.0});
    CHECK(values(m["u8"]) == std::vector<double>{0, 128, 255});
    CHECK(m["empty"].shape() == Shape{0, 3});
    CHECK(m["scalar"].dtype() == DType::float64);
    CHECK(m["scalar"].item() == 0.25);
    CHECK(read_safetensors_metadata(fixture("mixed-dtypes.safetensors")).at("format") == "pt");
  }

  TEST_CASE("safetensors: damaged files are clear errors naming the file and tensor") {
    TempDir dir("st-bad");
    const std::string p = dir / "bad.safetensors";
    auto fails_with = [&](const std::string& bytes, const char* message) {
      write_bytes(p, bytes);
      CAPTURE(message);
      CHECK_THROWS_WITH_AS(load_safetensors(p), Catch(message), Error);
    };
    const std::string one = R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    const std::string eight(8, '\0');

    // A real file cut short: the last tensor's bytes are missing.
    save_safetensors(p, {{"a", ones({2})}, {"b", ones({3})}});
    std::string good = read_bytes(p);
    fails_with(good.substr(0, good.size() - 4), "tensor 'b' needs bytes [8, 20) of the data section, which holds only "
                                                "16 bytes: the file is truncated");
    fails_with(good.substr(0, 5), "is too short (5 bytes) to hold the 8-byte header length");
    fails_with(good.substr(0, 40), "header length 112 runs past the end of the file (32 bytes follow the length)");
    fails_with(st_file(one, eight, 1ULL << 60), "runs past the end of the file");
    fails_with(st_file("{\"w\": {\"dtype\": ", eight), "the header is not valid JSON");
    fails_with(st_file("[1, 2]", ""), "the header must be a JSON object, got array");
    fails_with(st_file(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", "ab"),
               "tensor 'w': unsupported dtype 'F8_E4M3'");
    fails_with(st_file(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight),
               "tensor 'w': shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8");
    fails_with(st_file(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight),
               "tensor 'w': shape must be a list of non-negative integers");
    fails_with(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[8]}})", eight),
               "tensor 'w': data_offsets must be [begin, end]");
    fails_with(st_file(R"({"w":{"dtype":"F32","shape":[2]}})", eight), "tensor 'w': expected an object with dtype");
    fails_with(st_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", eight), "end before they begin");
    fails_with(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("v":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                       std::string(12, '\0')),
               "tensor 'v' (bytes [4, 12)) overlaps tensor 'w' (which ends at 8)");
    fails_with(st_file(R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", eight),
               "bytes [0, 4) of the data section, before tensor 'w', belong to no tensor");
    fails_with(st_file(one, eight + "xyz"), "the data section holds 11 bytes but the tensors cover only 8");
    fails_with(st_file(R"({"__metadata__":{"n":3}})", ""), "__metadata__ value 'n' is not a string: 3");
    fails_with(st_file(one, eight, 1ULL << 60), "bad.safetensors");
    CHECK_THROWS_WITH_AS(load_safetensors(dir / "missing"), Catch("cannot open"), Error);
    write_bytes(p, st_file(one, eight));
    CHECK(values(load_safetensors(p)["w"]) == std::vector<double>{0, 0});  // the same file, intact, is fine

    CHECK_THROWS_WITH_AS(save_safetensors(p, {{"a", ones({1})}, {"a", ones({1})}}), Catch("'a' appears twice"), Error);
    CHECK_THROWS_WITH_AS(save_safetensors(p, {{"", ones({1})}}), Catch("invalid tensor name ''"), Error);
    CHECK_THROWS_WITH_AS(save_safetensors(p, {{"__metadata__", ones({1})}}), Catch("invalid tensor name"), Error);
    CHECK_THROWS_WITH_AS(save_safetensors(p, {{"u", Tensor()}}), Catch("tensor 'u' is undefined"), Error);
    CHECK_THROWS_WITH_AS(save_safetensors(dir / "no/such/dir/x", {{"a", ones({1})}}), Catch("cannot create"), Error);
  }

  // Issue 12, items 1 and 3: a hostile header. Before, the deep one overflowed the stack (an error
  // message dumped it recursively), the long one was quoted whole, a repeated name kept the last entry
  // silently, and a 0 dim let huge dims after it through to a tensor with wrapped strides.
  TEST_CASE("safetensors: hostile headers are clear, short errors") {
    TempDir dir("st-hostile");
    const std::string p = dir / "hostile.safetensors";
    auto error_of = [&](const std::string& bytes) -> std::string {
      write_bytes(p, bytes);
      try {
        load_safetensors(p);
      } catch (const Error& e) {
        return e.what();
      }
      return "(no error)";
    };
    const std::string deep = "{\"w\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
    std::string e = error_of(st_file(deep, ""));
    CHECK(e.find("hostile.safetensors': the header nests deeper than 32 levels") != std::string::npos);
    // Within the depth limit, but a long value: the message quotes 200 characters of it, then "…".
    e = error_of(st_file("{\"w\":[\"" + std::string(20000, 'x') + "\"]}", ""));
    CHECK(e.find("tensor 'w': expected an object with dtype, shape and data_offsets, got [\"xxx") != std::string::npos);
    CHECK(e.find("…") != std::string::npos);
    CHECK(e.size() < 400);
    e = error_of(st_file("{\"" + std::string(5000, 'n') + "\":1}", ""));
    CHECK(e.find("…") != std::string::npos);
    CHECK(e.size() < 400);

    // Duplicate keys: a tensor name twice (here with two dtypes over the same bytes), or any key twice.
    e = error_of(st_file(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                         R"("w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})",
                         std::string(8, '\0')));
    CHECK(e.find("hostile.safetensors': the header has the key 'w' twice in one object (tensor names must be unique)") !=
          std::string::npos);
    e = error_of(st_file(R"({"__metadata__":{"k":"a","k":"b"}})", ""));
    CHECK(e.find("the header has the key 'k' twice in one object") != std::string::npos);
    e = error_of(st_file(R"({"w":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}})", std::string(8, '\0')));
    CHECK(e.find("the key 'dtype' twice") != std::string::npos);

    // A 0 dim followed by huge ones: 0 bytes of data, but no strides fit in int64.
    e = error_of(st_file(R"({"w":{"dtype":"F32","shape":[0,1099511627776,1099511627776],"data_offsets":[0,0]}})", ""));
    CHECK(e.find("tensor 'w': shape [0,1099511627776,1099511627776] is implausibly large") != std::string::npos);
    // A header just under the limit still loads.
    write_bytes(p, st_file(R"({"w":{"dtype":"F32","shape":[0,1024,1024],"data_offsets":[0,0]}})", ""));
    CHECK(load_safetensors(p)["w"].shape() == Shape{0, 1024, 1024});
  }
}
