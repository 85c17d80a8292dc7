// safetensors reading and writing (format in safetensors.h). Loading parses and validates the whole
// header first, then reads each tensor's bytes straight into a fresh tensor's storage, so a checkpoint
// is never held in memory twice.
#include "nn/safetensors.h"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "kernels/core/atomic_file.h"

namespace lumen::nn {
namespace {

// The raw bytes are copied as they lie in memory, which matches the file on little-endian machines.
static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");

using json = nlohmann::json;
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
// A valid header nests 3 deep (header, tensor entry, shape); the limit only stops a hostile one
// before anything recursive (dump, destruction) walks it.
constexpr int kMaxHeaderDepth = 32;
constexpr std::size_t kMaxQuoted = 200;  // characters of a JSON value that an error message quotes

// A name or value from the file as an error message quotes it: at most kMaxQuoted characters, then "…".
std::string shorten(std::string s) {
  if (s.size() > kMaxQuoted) s = s.substr(0, kMaxQuoted) + "…";
  return s;
}
std::string quote(const json& v) { return shorten(v.dump()); }  // v is at most kMaxHeaderDepth deep

// Parses the header text, refusing nesting deeper than kMaxHeaderDepth and a key repeated within an
// object (the format requires unique names; nlohmann would keep the last silently).
json parse_header_json(const std::string& text, const std::string& path) {
  const char* op = "load_safetensors";
  std::vector<std::set<std::string>> keys;  // the keys seen so far in each open object, innermost last
  int depth = 0;
  const auto check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        LUMEN_CHECK(++depth <= kMaxHeaderDepth, op, "'", path, "': the header nests deeper than ", kMaxHeaderDepth,
                    " levels (a safetensors header nests 3)");
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        break;
      case json::parse_event_t::object_end:
        keys.pop_back();
        --depth;
        break;
      case json::parse_event_t::array_end: --depth; break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        LUMEN_CHECK(keys.back().insert(key).second, op, "'", path, "': the header has the key '", shorten(key),
                    "' twice in one object", keys.size() == 1 ? " (tensor names must be unique)" : "");
        break;
      }
      case json::parse_event_t::value: break;
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const json::exception& e) {
    lumen::detail::fail(op, "'", path, "': the header is not valid JSON: ", e.what());
  }
}

const char* st_dtype(DType t) {
  switch (t) {
    case DType::float32: return "F32";
    case DType::float64: return "F64";
    case DType::int64: return "I64";
  }
  return "?";
}

// One tensor entry of a header, validated.
struct Entry {
  std::string name;
  std::string dtype;  // one that bytes_per_element knows
  Shape shape;
  std::uint64_t begin = 0, end = 0;
};

struct Header {
  std::map<std::string, std::string> metadata;
  std::vector<Entry> entries;   // sorted by data_offsets
  std::uint64_t data_start = 0;  // file offset of the data section
};

// Bytes per element of the dtypes lumen reads; 0 for the others. F32, F64 and I64 load as they are,
// the rest are widened: F16 and BF16 to float32, the smaller integers and BOOL to int64.
std::uint64_t bytes_per_element(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "F64" || dtype == "I64") return 8;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL") return 1;
  return 0;
}

bool is_count(const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0); }

Entry parse_entry(const std::string& path, const std::string& full_name, const json& v) {
  const char* op = "load_safetensors";
  const std::string name = shorten(full_name);  // for the messages
  LUMEN_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), op, "'",
              path, "': tensor '", name, "': expected an object with dtype, shape and data_offsets, got ", quote(v));
  Entry e{full_name, {}, {}, 0, 0};
  LUMEN_CHECK(v["dtype"].is_string(), op, "'", path, "': tensor '", name, "': dtype is not a string");
  e.dtype = v["dtype"].get<std::string>();
  const std::uint64_t size = bytes_per_element(e.dtype);
  LUMEN_CHECK(size != 0, op, "'", path, "': tensor '", name, "': unsupported dtype '", shorten(e.dtype),
              "' (lumen reads F32, F64, I64, F16, BF16, I32, I16, I8, U8, BOOL)");
  const json& shape = v["shape"];
  LUMEN_CHECK(shape.is_array() && std::all_of(shape.begin(), shape.end(), is_count), op, "'", path, "': tensor '",
              name, "': shape must be a list of non-negative integers, got ", quote(shape));
  const json& off = v["data_offsets"];
  LUMEN_CHECK(off.is_array() && off.size() == 2 && is_count(off[0]) && is_count(off[1]), op, "'", path,
              "': tensor '", name, "': data_offsets must be [begin, end], got ", quote(off));
  e.begin = off[0].get<std::uint64_t>();
  e.end = off[1].get<std::uint64_t>();
  LUMEN_CHECK(e.begin <= e.end, op, "'", path, "': tensor '", name, "': data_offsets [", e.begin, ", ", e.end,
              "] end before they begin");
  // Product of the dims with an overflow guard: a corrupt shape must not wrap around to a small size.
  // The guard caps the product with each 0 counted as 1 (the span the strides must cover), so a 0 dim
  // does not let huge dims after it through.
  std::uint64_t nbytes = size, span = size;
  for (const json& d : shape) {
    const std::uint64_t n = d.get<std::uint64_t>(), w = std::max<std::uint64_t>(n, 1);
    LUMEN_CHECK(span <= (std::uint64_t(1) << 50) / w, op, "'", path, "': tensor '", name, "': shape ", quote(shape),
                " is implausibly large (more than 2^50 bytes, counting a 0 dim as 1)");
    span *= w;
    nbytes *= n;
    e.shape.push_back(static_cast<std::int64_t>(n));
  }
  LUMEN_CHECK(nbytes == e.end - e.begin, op, "'", path, "': tensor '", name, "': shape ", e.shape, " of ", e.dtype,
              " needs ", nbytes, " bytes but data_offsets [", e.begin, ", ", e.end, "] hold ", e.end - e.begin);
  return e;
}

Header read_header(std::ifstream& in, const std::string& path) {
  const char* op = "load_safetensors";
  LUMEN_CHECK(in.is_open(), op, "cannot open '", path, "': ", std::strerror(errno));
  std::error_code ec;
  const std::uint64_t file_size = std::filesystem::file_size(path, ec);
  LUMEN_CHECK(!ec && file_size >= 8, op, "'", path, "' is too short (", ec ? 0 : file_size,
              " bytes) to hold the 8-byte header length");
  unsigned char len[8];
  in.read(reinterpret_cast<char*>(len), 8);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len[i];
  LUMEN_CHECK(n <= file_size - 8, op, "'", path, "': header length ", n, " runs past the end of the file (",
              file_size - 8, " bytes follow the length): truncated or not a safetensors file");
  LUMEN_CHECK(n <= kMaxHeaderBytes, op, "'", path, "': header length ", n, " exceeds the limit of ",
              kMaxHeaderBytes, " bytes");
  std::string text(n, '\0');
  in.read(text.data(), static_cast<std::streamsize>(n));
  LUMEN_CHECK(in.good(), op, "'", path, "': could not read the ", n, "-byte header");

  const json j = parse_header_json(text, path);
  LUMEN_CHECK(j.is_object(), op, "'", path, "': the header must be a JSON object, got ", j.type_name());

  Header h;
  h.data_start = 8 + n;
  for (const auto& [name, v] : j.items()) {
    if (name == "__metadata__") {
      LUMEN_CHECK(v.is_object(), op, "'", path, "': __metadata__ must be an object of strings");
      for (const auto& [k, s] : v.items()) {
        LUMEN_CHECK(s.is_string(), op, "'", path, "': __metadata__ value '", shorten(k), "' is not a string: ", quote(s));
        h.metadata[k] = s.get<std::string>();
      }
    } else {
      h.entries.push_back(parse_entry(path, name, v));
    }
  }

  // The tensors must tile the data section exactly, as the reference implementation requires.
  const std::uint64_t data_size = file_size - h.data_start;
  std::sort(h.entries.begin(), h.entries.end(),
            [](const Entry& a, const Entry& b) { return std::pair(a.begin, a.end) < std::pair(b.begin, b.end); });
  std::uint64_t covered = 0;
  const Entry* prev = nullptr;
  for (const Entry& e : h.entries) {
    LUMEN_CHECK(e.end <= data_size, op, "'", path, "': tensor '", shorten(e.name), "' needs bytes [", e.begin, ", ", e.end,
                ") of the data section, which holds only ", data_size, " bytes: the file is truncated");
    LUMEN_CHECK(e.begin >= covered, op, "'", path, "': tensor '", shorten(e.name), "' (bytes [", e.begin, ", ", e.end,
                ")) overlaps tensor '", prev ? shorten(prev->name) : "", "' (which ends at ", covered, ")");
    LUMEN_CHECK(e.begin == covered, op, "'", path, "': bytes [", covered, ", ", e.begin,
                ") of the data section, before tensor '", shorten(e.name), "', belong to no tensor");
    covered = e.end;
    prev = &e;
  }
  LUMEN_CHECK(covered == data_size, op, "'", path, "': the data section holds ", data_size,
              " bytes but the tensors cover only ", covered);
  return h;
}

// IEEE half and bfloat16 widened to float32 (exact: float32 holds every value of both).
float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = std::uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  if (exp == 0x1F) return std::bit_cast<float>(sign | 0x7F800000u | (mant << 13));  // inf, nan
  if (exp == 0) {                                                                   // zero, subnormal
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));  // rebias 15 -> 127
}
float bf16_to_float(std::uint16_t h) { return std::bit_cast<float>(std::uint32_t(h) << 16); }

// dst[i] = f(element i of src), the elements being little-endian S.
template <class S, class D, class F> void convert(const char* src, D* dst, std::int64_t n, F f) {
  for (std::int64_t i = 0; i < n; ++i) {
    S v;
    std::memcpy(&v, src + i * sizeof(S), sizeof(S));  // memcpy: src need not be aligned for S
    dst[i] = f(v);
  }
}

// Converts the raw elements in src (of a non-native dtype) into t's float32 or int64 data.
void widen(const std::string& dtype, const char* src, const Tensor& t) {
  const std::int64_t n = t.numel();
  const auto to_i64 = [](auto v) { return static_cast<std::int64_t>(v); };
  if (dtype == "F16") convert<std::uint16_t>(src, t.data<float>(), n, half_to_float);
  else if (dtype == "BF16") convert<std::uint16_t>(src, t.data<float>(), n, bf16_to_float);
  else if (dtype == "I32") convert<std::int32_t>(src, t.data<std::int64_t>(), n, to_i64);
  else if (dtype == "I16") convert<std::int16_t>(src, t.data<std::int64_t>(), n, to_i64);
  else if (dtype == "I8") convert<std::int8_t>(src, t.data<std::int64_t>(), n, to_i64);
  else convert<std::uint8_t>(src, t.data<std::int64_t>(), n, to_i64);  // U8, BOOL
}

}  // namespace

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const char* op = "save_safetensors";
  // ordered_json keeps the insertion order, so the header lists tensors in the order of their bytes.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> host;
  std::set<std::string> seen;
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LUMEN_CHECK(!name.empty() && name != "__metadata__", op, "'", path, "': invalid tensor name '", name, "'");
    LUMEN_CHECK(seen.insert(name).second, op, "'", path, "': tensor name '", name, "' appears twice");
    LUMEN_CHECK(t.defined(), op, "'", path, "': tensor '", name, "' is undefined");
    host.push_back(t.detach().cpu().contiguous());
    const std::uint64_t nbytes = static_cast<std::uint64_t>(t.numel()) * itemsize(t.dtype());
    header[name] = {{"dtype", st_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  std::string text = header.dump();
  // Pad with spaces so that the data section starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');

  AtomicFile out(path, op);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(std::uint64_t(text.size()) >> (8 * i));
  out.write(len, 8);
  out.write(text);
  for (const Tensor& t : host) out.write(t.raw_data(), static_cast<std::size_t>(t.numel()) * itemsize(t.dtype()));
  out.commit();
}

std::map<std::string, Tensor> load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const Header h = read_header(in, path);
  std::map<std::string, Tensor> out;
  for (const Entry& e : h.entries) {
    const std::uint64_t nbytes = e.end - e.begin;
    const bool native = e.dtype == "F32" || e.dtype == "F64" || e.dtype == "I64";
    const bool floating = e.dtype[0] == 'F' || e.dtype == "BF16";
    const DType dtype = e.dtype == "F64" ? DType::float64 : floating ? DType::float32 : DType::int64;
    Tensor t = empty(e.shape, {.dtype = dtype});
    // Native dtypes are read straight into the tensor; the others through a buffer, then widened.
    std::vector<char> buffer(native ? 0 : nbytes);
    in.seekg(static_cast<std::streamoff>(h.data_start + e.begin));
    in.read(native ? static_cast<char*>(t.raw_data()) : buffer.data(), static_cast<std::streamsize>(nbytes));
    LUMEN_CHECK(in.good(), "load_safetensors", "'", path, "': could not read tensor '", shorten(e.name), "'");
    if (!native) widen(e.dtype, buffer.data(), t);
    out.emplace(e.name, std::move(t));
  }
  return out;
}

std::map<std::string, std::string> read_safetensors_metadata(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return read_header(in, path).metadata;
}

}  // namespace lumen::nn
