// IDX reading and writing (format in idx.h). The file is read into its raw big-endian bytes first
// (RawIdx), validated against its header, and only then decoded into the tensor the caller asked for,
// so images are decoded straight to float32 without an int64 copy in between.
#include "nn/idx.h"

#include <zlib.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <vector>

#include "kernels/core/atomic_file.h"

namespace lumen::nn {
namespace {

// Closes the zlib handle on every path out, errors included.
struct GzFile {
  gzFile f;
  ~GzFile() {
    if (f) gzclose(f);
  }
};

std::size_t type_size(IdxType t) {
  switch (t) {
    case IdxType::u8: case IdxType::i8: return 1;
    case IdxType::i16: return 2;
    case IdxType::i32: case IdxType::f32: return 4;
    case IdxType::f64: return 8;
  }
  return 0;
}

const char* type_name(IdxType t) {
  switch (t) {
    case IdxType::u8: return "ubyte";
    case IdxType::i8: return "sbyte";
    case IdxType::i16: return "short";
    case IdxType::i32: return "int";
    case IdxType::f32: return "float";
    case IdxType::f64: return "double";
  }
  return "?";
}

bool known_type(std::uint8_t code) {
  return code == 0x08 || code == 0x09 || code == 0x0B || code == 0x0C || code == 0x0D || code == 0x0E;
}

struct RawIdx {
  IdxType type;
  Shape dims;
  std::vector<unsigned char> data;  // prod(dims) elements, big-endian, exactly as in the file
};

// gzread takes an unsigned count and may return fewer bytes than asked; loops until n bytes or EOF.
std::size_t read_bytes(gzFile f, void* dst, std::size_t n, const std::string& path) {
  std::size_t done = 0;
  while (done < n) {
    unsigned want = static_cast<unsigned>(std::min<std::size_t>(n - done, 1u << 30));
    int got = gzread(f, static_cast<char*>(dst) + done, want);
    if (got < 0) {
      int code = 0;
      lumen::detail::fail("read_idx", "'", path, "': read error: ", gzerror(f, &code));
    }
    if (got == 0) break;
    done += static_cast<std::size_t>(got);
  }
  return done;
}

RawIdx read_raw(const std::string& path) {
  GzFile file{gzopen(path.c_str(), "rb")};
  LUMEN_CHECK(file.f, "read_idx", "cannot open '", path, "': ", std::strerror(errno));

  unsigned char head[4];
  std::size_t got = read_bytes(file.f, head, 4, path);
  LUMEN_CHECK(got == 4, "read_idx", "'", path, "' is too short for an IDX header: ", got, " bytes");
  LUMEN_CHECK(head[0] == 0 && head[1] == 0, "read_idx", "'", path,
              "' is not an IDX file: expected magic bytes 00 00, got ", int(head[0]), " ", int(head[1]));
  LUMEN_CHECK(known_type(head[2]), "read_idx", "'", path, "': unknown IDX element type 0x", std::hex,
              int(head[2]), std::dec, " (expected 0x08, 0x09, 0x0B, 0x0C, 0x0D or 0x0E)");
  const int ndim = head[3];
  LUMEN_CHECK(ndim >= 1 && ndim <= 16, "read_idx", "'", path, "': expected 1 to 16 dims, got ", ndim);

  RawIdx raw{static_cast<IdxType>(head[2]), Shape(ndim), {}};
  unsigned char dimbytes[16 * 4];
  got = read_bytes(file.f, dimbytes, 4 * ndim, path);
  LUMEN_CHECK(got == std::size_t(4 * ndim), "read_idx", "'", path, "' is truncated inside its header: ",
              ndim, " dims need ", 4 * ndim, " bytes, found ", got);
  // A corrupt header can claim absurd sizes: cap the total at 2^40 bytes before multiplying further,
  // counting a 0 dim as 1 (the span the strides must cover), so a 0 does not let huge dims after it through.
  std::uint64_t nbytes = type_size(raw.type), span = nbytes;
  for (int d = 0; d < ndim; ++d) {
    const unsigned char* p = dimbytes + 4 * d;
    std::uint32_t v = (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
    raw.dims[d] = v;
    const std::uint64_t w = std::max<std::uint32_t>(v, 1);
    LUMEN_CHECK(span <= (std::uint64_t(1) << 40) / w, "read_idx", "'", path, "': header shape ", raw.dims,
                "... is implausibly large (more than 2^40 bytes, counting a 0 dim as 1)");
    span *= w;
    nbytes *= v;
  }

  // A plain file's size is known: held against the header before anything is allocated. A gzip
  // file's buffer grows as data arrives rather than trusting the header with one huge allocation.
  const bool plain = gzdirect(file.f) == 1;
  std::error_code ec;
  const std::uint64_t file_size = plain ? std::filesystem::file_size(path, ec) : 0;
  if (plain && !ec) {
    const std::uint64_t found = file_size - 4 - 4 * static_cast<std::uint64_t>(ndim);
    LUMEN_CHECK(found >= nbytes, "read_idx", "'", path, "' is truncated: its header promises shape ", raw.dims,
                " of ", type_name(raw.type), " = ", nbytes, " bytes of data, found ", found);
    LUMEN_CHECK(found == nbytes, "read_idx", "'", path, "' is longer than its header says: shape ", raw.dims, " of ",
                type_name(raw.type), " = ", nbytes, " bytes of data, found ", found);
  }
  const std::size_t chunk = std::size_t(1) << 24;
  raw.data.reserve(plain ? nbytes : std::min<std::size_t>(nbytes, chunk));
  while (raw.data.size() < nbytes) {
    std::size_t old = raw.data.size();
    std::size_t want = std::min<std::size_t>(chunk, nbytes - old);
    raw.data.resize(old + want);
    got = read_bytes(file.f, raw.data.data() + old, want, path);
    LUMEN_CHECK(got == want, "read_idx", "'", path, "' is truncated: its header promises shape ", raw.dims,
                " of ", type_name(raw.type), " = ", nbytes, " bytes of data, found ", old + got);
  }
  // Anything after the data means the header and the contents disagree.
  char extra[4096];
  std::size_t more = 0, n;
  while ((n = read_bytes(file.f, extra, sizeof extra, path)) > 0) more += n;
  LUMEN_CHECK(more == 0, "read_idx", "'", path, "' is longer than its header says: shape ", raw.dims, " of ",
              type_name(raw.type), " = ", nbytes, " bytes of data, found ", nbytes + more);
  return raw;
}

// One big-endian element of type T (the file's type) at p.
template <class T> T load_be(const unsigned char* p) {
  using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
            std::conditional_t<sizeof(T) == 2, std::uint16_t,
            std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;
  U u = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) u = static_cast<U>((u << 8) | p[i]);
  return std::bit_cast<T>(u);
}

template <class T> void store_be(T value, unsigned char* p) {
  using U = std::conditional_t<sizeof(T) == 1, std::uint8_t,
            std::conditional_t<sizeof(T) == 2, std::uint16_t,
            std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>>>;
  U u = std::bit_cast<U>(value);
  for (std::size_t i = sizeof(T); i-- > 0; u = static_cast<U>(u >> 8)) p[i] = u & 0xFF;
}

// Calls f.template operator()<T>() with T the C++ type of an IDX element type.
template <class F> void visit_idx(IdxType t, F&& f) {
  switch (t) {
    case IdxType::u8: return f.template operator()<std::uint8_t>();
    case IdxType::i8: return f.template operator()<std::int8_t>();
    case IdxType::i16: return f.template operator()<std::int16_t>();
    case IdxType::i32: return f.template operator()<std::int32_t>();
    case IdxType::f32: return f.template operator()<float>();
    case IdxType::f64: return f.template operator()<double>();
  }
}

// Decodes every element of raw into out's (contiguous, CPU) data as Out, applying `scale`.
template <class Out> void decode(const RawIdx& raw, Out* out, double scale = 1.0) {
  visit_idx(raw.type, [&]<class T>() {
    const std::size_t n = raw.data.size() / sizeof(T);
    const unsigned char* p = raw.data.data();
    if (scale == 1.0) {
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<Out>(load_be<T>(p + i * sizeof(T)));
    } else {
      const Out s = static_cast<Out>(scale);
      for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<Out>(load_be<T>(p + i * sizeof(T))) * s;
    }
  });
}

bool is_float_type(IdxType t) { return t == IdxType::f32 || t == IdxType::f64; }

}  // namespace

Tensor read_idx(const std::string& path) {
  RawIdx raw = read_raw(path);
  if (raw.type == IdxType::f64) {
    Tensor t = empty(raw.dims, {.dtype = DType::float64});
    decode(raw, t.data<double>());
    return t;
  }
  if (raw.type == IdxType::f32) {
    Tensor t = empty(raw.dims, {.dtype = DType::float32});
    decode(raw, t.data<float>());
    return t;
  }
  Tensor t = empty(raw.dims, {.dtype = DType::int64});
  decode(raw, t.data<std::int64_t>());
  return t;
}

Tensor read_idx_images(const std::string& path) {
  RawIdx raw = read_raw(path);
  LUMEN_CHECK(raw.dims.size() == 3, "read_idx_images", "'", path, "': expected 3 dims [N, H, W] of images, got ",
              raw.dims.size(), " dims ", raw.dims);
  LUMEN_CHECK(raw.type == IdxType::u8 || is_float_type(raw.type), "read_idx_images", "'", path,
              "': expected ubyte, float or double pixels, got ", type_name(raw.type));
  Tensor t = empty(raw.dims, {.dtype = DType::float32});
  // Multiplying by the float nearest 1/255 can differ from v / 255 in the last bit; dividing keeps
  // pixel k exactly equal to the float32 of k/255, which the tests and the JSON source agree on.
  if (raw.type == IdxType::u8) {
    float* out = t.data<float>();
    for (std::size_t i = 0; i < raw.data.size(); ++i) out[i] = static_cast<float>(raw.data[i]) / 255.0f;
  } else {
    decode(raw, t.data<float>());
  }
  return t;
}

Tensor read_idx_labels(const std::string& path) {
  RawIdx raw = read_raw(path);
  LUMEN_CHECK(raw.dims.size() == 1, "read_idx_labels", "'", path, "': expected 1 dim [N] of labels, got ",
              raw.dims.size(), " dims ", raw.dims);
  LUMEN_CHECK(!is_float_type(raw.type), "read_idx_labels", "'", path, "': expected integer labels, got ",
              type_name(raw.type));
  Tensor t = empty(raw.dims, {.dtype = DType::int64});
  decode(raw, t.data<std::int64_t>());
  return t;
}

void write_idx(const std::string& path, const Tensor& t, IdxType type) {
  LUMEN_CHECK(t.defined(), "write_idx", "'", path, "': the tensor is undefined");
  LUMEN_CHECK(t.dim() >= 1 && t.dim() <= 16, "write_idx", "'", path, "': IDX holds 1 to 16 dims, got shape ",
              t.shape());
  LUMEN_CHECK(known_type(static_cast<std::uint8_t>(type)), "write_idx", "'", path, "': unknown IDX type ",
              int(type));
  // double holds every value of every IDX type exactly (int64 up to 2^53 covers int32 and below).
  const std::vector<double> values = t.to_vector<double>();
  const std::size_t head = 4 + 4 * static_cast<std::size_t>(t.dim()), size = type_size(type);
  std::vector<unsigned char> bytes(head + values.size() * size, 0);
  bytes[2] = static_cast<unsigned char>(type);
  bytes[3] = static_cast<unsigned char>(t.dim());
  for (std::int64_t d = 0; d < t.dim(); ++d) {
    LUMEN_CHECK(t.size(d) <= std::numeric_limits<std::uint32_t>::max(), "write_idx", "'", path, "': dim ", d,
                " of shape ", t.shape(), " does not fit in 32 bits");
    store_be(static_cast<std::uint32_t>(t.size(d)), bytes.data() + 4 + 4 * d);
  }
  visit_idx(type, [&]<class T>() {
    for (std::size_t i = 0; i < values.size(); ++i) {
      const double v = values[i];
      if constexpr (std::is_integral_v<T>) {
        LUMEN_CHECK(v == std::floor(v) && v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max(),
                    "write_idx", "'", path, "': element ", i, " = ", v, " is not a valid ", type_name(type),
                    " (an integer in [", double(std::numeric_limits<T>::min()), ", ",
                    double(std::numeric_limits<T>::max()), "])");
      }
      store_be(static_cast<T>(v), bytes.data() + head + i * size);
    }
  });

  AtomicFile out(path, "write_idx");
  const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  if (gz) {
    // zlib writes to (and closes) a duplicate of the descriptor; commit() then flushes the original.
    const int fd = ::dup(out.fd());
    GzFile f{fd >= 0 ? gzdopen(fd, "wb6") : nullptr};
    if (!f.f && fd >= 0) ::close(fd);
    LUMEN_CHECK(f.f, "write_idx", "cannot write '", path, "': ", std::strerror(errno));
    for (std::size_t done = 0; done < bytes.size();) {
      const unsigned want = static_cast<unsigned>(std::min<std::size_t>(bytes.size() - done, 1u << 30));
      const int wrote = gzwrite(f.f, bytes.data() + done, want);
      int code = 0;
      LUMEN_CHECK(wrote > 0, "write_idx", "cannot write '", path, "': ", gzerror(f.f, &code));
      done += static_cast<std::size_t>(wrote);
    }
    const int closed = gzclose(f.f);
    f.f = nullptr;
    LUMEN_CHECK(closed == Z_OK, "write_idx", "cannot write '", path, "': ",
                closed == Z_ERRNO ? std::strerror(errno) : "zlib could not finish the stream");
  } else {
    out.write(bytes.data(), bytes.size());
  }
  out.commit();
}

}  // namespace lumen::nn
