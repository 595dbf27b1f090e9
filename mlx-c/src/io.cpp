// File IO: .npy (whole files and in-memory buffers), safetensors and GGUF.
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <unistd.h>

#include "internal.hpp"
#include "mlx/io.h"

struct mlxc_tensor_map_s {
  std::vector<std::pair<std::string, mx::array>> arrays;
  std::vector<std::pair<std::string, std::string>> metadata;
};

struct mlxc_gguf_map_s {
  std::vector<std::pair<std::string, mx::array>> arrays;
  std::vector<std::pair<std::string, mx::GGUFMetaData>> metadata;
};

namespace {

using namespace mlxc;

const char* checked_path(const char* path) {
  if (path == nullptr) throw std::invalid_argument("[mlxc] null path");
  return path;
}

// Reads from a private copy of a byte buffer. Positional reads may come from several threads.
class MemoryReader : public mx::io::Reader {
 public:
  MemoryReader(const uint8_t* data, size_t len)
      : data_(reinterpret_cast<const char*>(data), len) {}

  bool is_open() const override { return true; }
  bool good() const override { return true; }
  size_t tell() override { return pos_; }
  void seek(int64_t off, std::ios_base::seekdir way) override {
    int64_t base = way == std::ios_base::beg   ? 0
                   : way == std::ios_base::end ? static_cast<int64_t>(data_.size())
                                               : static_cast<int64_t>(pos_);
    int64_t target = base + off;
    if (target < 0 || target > static_cast<int64_t>(data_.size())) {
      throw std::runtime_error("[load] seek outside of the " + std::to_string(data_.size()) +
                               " bytes of data");
    }
    pos_ = static_cast<size_t>(target);
  }
  void read(char* out, size_t n) override {
    read(out, n, pos_);
    pos_ += n;
  }
  void read(char* out, size_t n, size_t offset) override {
    if (offset > data_.size() || n > data_.size() - offset) {
      throw std::runtime_error("[load] Unexpected end of data: " + std::to_string(n) +
                               " bytes wanted at offset " + std::to_string(offset) + " of " +
                               std::to_string(data_.size()));
    }
    std::memcpy(out, data_.data() + offset, n);
  }
  std::string label() const override { return "memory buffer"; }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Collects what is written into a string.
class MemoryWriter : public mx::io::Writer {
 public:
  bool is_open() const override { return true; }
  bool good() const override { return true; }
  size_t tell() override { return pos_; }
  void seek(int64_t off, std::ios_base::seekdir way) override {
    int64_t base = way == std::ios_base::beg   ? 0
                   : way == std::ios_base::end ? static_cast<int64_t>(data_.size())
                                               : static_cast<int64_t>(pos_);
    int64_t target = base + off;
    if (target < 0) throw std::runtime_error("[save] seek before the start of the buffer");
    pos_ = static_cast<size_t>(target);
  }
  void write(const char* in, size_t n) override {
    if (data_.size() < pos_ + n) data_.resize(pos_ + n);
    std::memcpy(data_.data() + pos_, in, n);
    pos_ += n;
  }
  std::string label() const override { return "memory buffer"; }

  std::string& data() { return data_; }

 private:
  std::string data_;
  size_t pos_ = 0;
};

// Loading happens on the CPU, as MLX's own default for loads.
mx::StreamOrDevice load_stream() { return mx::Device(mx::Device::cpu); }


// ---- GGUF ----------------------------------------------------------------------------------------

// The most dimensions MLX's GGUF reader takes: a tensor with more stops the process in an
// assertion, so the writer refuses them.
constexpr size_t gguf_max_dims = 8;

mlxc_gguf_map_s& GM(mlxc_gguf_map m) {
  if (m == nullptr) throw std::invalid_argument("[mlxc] null GGUF map handle");
  return *m;
}

std::string byte_string(const char* data, size_t len, const char* what) {
  if (data == nullptr && len != 0) throw std::invalid_argument(std::string("[mlxc] null ") + what);
  return len == 0 ? std::string() : std::string(data, len);
}

// Adds a metadata entry; keys are unique.
void add_metadata(mlxc_gguf_map m, const char* key, size_t key_len, mx::GGUFMetaData value) {
  auto& map = GM(m);
  auto k = byte_string(key, key_len, "metadata key");
  for (auto& [existing, _] : map.metadata) {
    if (existing == k) {
      throw std::invalid_argument("[save_gguf] duplicate metadata key '" + k + "'");
    }
  }
  map.metadata.emplace_back(std::move(k), std::move(value));
}

const mx::GGUFMetaData* metadata_at(mlxc_gguf_map m, size_t i) {
  if (m == nullptr || i >= m->metadata.size()) return nullptr;
  return &m->metadata[i].second;
}

// A file name next to `target`, ending in ".gguf" (MLX's writer appends the suffix to names
// without it), unique within this process.
std::string gguf_temp_name(const std::string& target) {
  static std::atomic<unsigned long> counter{0};
  return target + ".tmp-" + std::to_string(static_cast<long>(getpid())) + "-" +
         std::to_string(counter.fetch_add(1)) + ".gguf";
}

// MLX's writers evaluate what they write; evaluating first puts that work where evaluations run.
void evaluate_values(const std::unordered_map<std::string, mx::array>& arrays,
                     std::vector<mx::array> more = {}) {
  for (const auto& [name, a] : arrays) more.push_back(a);
  eval_arrays(std::move(more));
}

}  // namespace

extern "C" {

int mlxc_save_npy(const char* path, mlxc_array a) {
  return guard([&] {
    auto& arr = A(a);
    eval_array(arr);
    mx::save(std::make_shared<mx::io::FileWriter>(std::string(checked_path(path))), arr);
  });
}

int mlxc_load_npy(mlxc_array* res, const char* path) {
  return guard([&] {
    check_out(res);
    auto out = mx::load(std::string(checked_path(path)), load_stream());
    eval_array(out);
    put(res, std::move(out));
  });
}

int mlxc_npy_to_bytes(uint8_t** data, size_t* len, mlxc_array a) {
  return guard([&] {
    check_out(data);
    check_out(len);
    auto writer = std::make_shared<MemoryWriter>();
    auto& arr = A(a);
    eval_array(arr);
    mx::save(writer, arr);
    auto& bytes = writer->data();
    auto* out = static_cast<uint8_t*>(std::malloc(bytes.size() == 0 ? 1 : bytes.size()));
    if (out == nullptr) throw std::bad_alloc();
    std::memcpy(out, bytes.data(), bytes.size());
    *data = out;
    *len = bytes.size();
  });
}

int mlxc_npy_from_bytes(mlxc_array* res, const uint8_t* data, size_t len) {
  return guard([&] {
    check_out(res);
    if (data == nullptr && len != 0) throw std::invalid_argument("[mlxc] null data");
    auto out = mx::load(std::make_shared<MemoryReader>(data, len), load_stream());
    eval_array(out);
    put(res, std::move(out));
  });
}

void mlxc_bytes_free(uint8_t* data) { std::free(data); }

int mlxc_save_safetensors(const char* path, const char* const* names, const mlxc_array* arrays,
                          size_t n, const char* const* meta_keys, const char* const* meta_values,
                          size_t n_meta) {
  return guard([&] {
    std::unordered_map<std::string, mx::array> map;
    for (size_t i = 0; i < n; ++i) {
      if (names[i] == nullptr) throw std::invalid_argument("[mlxc] null array name");
      if (!map.emplace(names[i], A(arrays[i])).second) {
        throw std::invalid_argument(std::string("[save_safetensors] duplicate array name '") +
                                    names[i] + "'");
      }
    }
    std::unordered_map<std::string, std::string> metadata;
    for (size_t i = 0; i < n_meta; ++i) {
      if (meta_keys[i] == nullptr || meta_values[i] == nullptr) {
        throw std::invalid_argument("[mlxc] null metadata string");
      }
      metadata[meta_keys[i]] = meta_values[i];
    }
    evaluate_values(map);
    mx::save_safetensors(std::make_shared<mx::io::FileWriter>(std::string(checked_path(path))),
                         std::move(map), std::move(metadata));
  });
}

int mlxc_load_safetensors(mlxc_tensor_map* res, const char* path) {
  return guard([&] {
    check_out(res);
    auto [arrays, metadata] = mx::load_safetensors(std::string(checked_path(path)), load_stream());
    auto out = std::make_unique<mlxc_tensor_map_s>();
    std::vector<mx::array> to_eval;
    for (auto& [name, a] : arrays) {
      to_eval.push_back(a);
      out->arrays.emplace_back(name, a);
    }
    eval_arrays(std::move(to_eval));
    for (auto& [k, v] : metadata) out->metadata.emplace_back(k, v);
    *res = out.release();
  });
}

size_t mlxc_tensor_map_size(mlxc_tensor_map m) { return m ? m->arrays.size() : 0; }

const char* mlxc_tensor_map_name(mlxc_tensor_map m, size_t i, size_t* len) {
  if (m == nullptr || i >= m->arrays.size()) return nullptr;
  if (len) *len = m->arrays[i].first.size();
  return m->arrays[i].first.data();
}

int mlxc_tensor_map_array(mlxc_array* res, mlxc_tensor_map m, size_t i) {
  return guard_unlocked([&] {
    check_out(res);
    if (m == nullptr || i >= m->arrays.size()) {
      throw std::out_of_range("[mlxc] tensor map index out of range");
    }
    put(res, m->arrays[i].second);
  });
}

size_t mlxc_tensor_map_metadata_size(mlxc_tensor_map m) { return m ? m->metadata.size() : 0; }

const char* mlxc_tensor_map_metadata_key(mlxc_tensor_map m, size_t i, size_t* len) {
  if (m == nullptr || i >= m->metadata.size()) return nullptr;
  if (len) *len = m->metadata[i].first.size();
  return m->metadata[i].first.data();
}

const char* mlxc_tensor_map_metadata_value(mlxc_tensor_map m, size_t i, size_t* len) {
  if (m == nullptr || i >= m->metadata.size()) return nullptr;
  if (len) *len = m->metadata[i].second.size();
  return m->metadata[i].second.data();
}

void mlxc_tensor_map_free(mlxc_tensor_map m) { delete m; }

int mlxc_gguf_map_new(mlxc_gguf_map* res) {
  return guard_unlocked([&] {
    check_out(res);
    *res = new mlxc_gguf_map_s();
  });
}

int mlxc_gguf_map_add_array(mlxc_gguf_map m, const char* name, size_t name_len, mlxc_array a) {
  return guard_unlocked([&] {
    auto& map = GM(m);
    auto n = byte_string(name, name_len, "array name");
    for (auto& [existing, _] : map.arrays) {
      if (existing == n) throw std::invalid_argument("[save_gguf] duplicate array name '" + n + "'");
    }
    map.arrays.emplace_back(std::move(n), A(a));
  });
}

int mlxc_gguf_map_add_metadata_none(mlxc_gguf_map m, const char* key, size_t key_len) {
  return guard_unlocked([&] { add_metadata(m, key, key_len, std::monostate{}); });
}

int mlxc_gguf_map_add_metadata_array(mlxc_gguf_map m, const char* key, size_t key_len,
                                     mlxc_array a) {
  return guard_unlocked([&] { add_metadata(m, key, key_len, A(a)); });
}

int mlxc_gguf_map_add_metadata_string(mlxc_gguf_map m, const char* key, size_t key_len,
                                      const char* value, size_t value_len) {
  return guard_unlocked(
      [&] { add_metadata(m, key, key_len, byte_string(value, value_len, "metadata string")); });
}

int mlxc_gguf_map_add_metadata_strings(mlxc_gguf_map m, const char* key, size_t key_len,
                                       const char* const* values, const size_t* lens, size_t n) {
  return guard_unlocked([&] {
    if (n != 0 && (values == nullptr || lens == nullptr)) {
      throw std::invalid_argument("[mlxc] null metadata string list");
    }
    std::vector<std::string> strings;
    strings.reserve(n);
    for (size_t i = 0; i < n; ++i) strings.push_back(byte_string(values[i], lens[i], "metadata string"));
    add_metadata(m, key, key_len, std::move(strings));
  });
}

int mlxc_save_gguf(const char* path, mlxc_gguf_map m) {
  return guard([&] {
    auto& map = GM(m);
    std::string target = checked_path(path);
    std::unordered_map<std::string, mx::array> arrays;
    for (auto& [name, a] : map.arrays) {
      if (a.ndim() > gguf_max_dims) {
        throw std::invalid_argument("[save_gguf] array '" + name + "' has " +
                                    std::to_string(a.ndim()) +
                                    " dimensions; GGUF files read by MLX hold at most " +
                                    std::to_string(gguf_max_dims));
      }
      // MLX's writer rejects some strided arrays (its flatten + reshape can give back a view).
      arrays.emplace(name, mx::contiguous(a));
    }
    std::unordered_map<std::string, mx::GGUFMetaData> metadata;
    for (auto& [key, value] : map.metadata) {
      if (auto* a = std::get_if<mx::array>(&value)) {
        metadata.emplace(key, mx::contiguous(*a));
      } else {
        metadata.emplace(key, value);
      }
    }
    std::vector<mx::array> metadata_arrays;
    for (auto& [key, value] : metadata) {
      if (auto* a = std::get_if<mx::array>(&value)) metadata_arrays.push_back(*a);
    }
    evaluate_values(arrays, std::move(metadata_arrays));
    // Written under a temporary name, then moved to `path`: MLX would append ".gguf" to `path`,
    // and a failed save leaves nothing behind (an existing file stays as it was).
    std::string tmp = gguf_temp_name(target);
    try {
      mx::save_gguf(tmp, std::move(arrays), std::move(metadata));
    } catch (const std::exception& e) {
      std::remove(tmp.c_str());
      std::string msg = e.what();
      if (msg == "[save_gguf] gguf_create failed") msg += " for " + target;
      throw std::runtime_error(msg);
    }
    if (std::rename(tmp.c_str(), target.c_str()) != 0) {
      std::string reason = std::strerror(errno);
      std::remove(tmp.c_str());
      throw std::runtime_error("[save_gguf] cannot move the new file to " + target + ": " + reason);
    }
  });
}

int mlxc_load_gguf(mlxc_gguf_map* res, const char* path) {
  return guard([&] {
    check_out(res);
    auto [arrays, metadata] = mx::load_gguf(std::string(checked_path(path)), load_stream());
    auto out = std::make_unique<mlxc_gguf_map_s>();
    std::vector<mx::array> to_eval;
    for (auto& [name, a] : arrays) {
      to_eval.push_back(a);
      out->arrays.emplace_back(name, a);
    }
    for (auto& [key, value] : metadata) {
      if (auto* a = std::get_if<mx::array>(&value)) to_eval.push_back(*a);
      out->metadata.emplace_back(key, value);
    }
    eval_arrays(std::move(to_eval));
    *res = out.release();
  });
}

size_t mlxc_gguf_map_size(mlxc_gguf_map m) { return m ? m->arrays.size() : 0; }

const char* mlxc_gguf_map_name(mlxc_gguf_map m, size_t i, size_t* len) {
  if (m == nullptr || i >= m->arrays.size()) return nullptr;
  if (len) *len = m->arrays[i].first.size();
  return m->arrays[i].first.data();
}

int mlxc_gguf_map_array(mlxc_array* res, mlxc_gguf_map m, size_t i) {
  return guard_unlocked([&] {
    check_out(res);
    if (m == nullptr || i >= m->arrays.size()) {
      throw std::out_of_range("[mlxc] GGUF map index out of range");
    }
    put(res, m->arrays[i].second);
  });
}

size_t mlxc_gguf_map_metadata_size(mlxc_gguf_map m) { return m ? m->metadata.size() : 0; }

const char* mlxc_gguf_map_metadata_key(mlxc_gguf_map m, size_t i, size_t* len) {
  if (m == nullptr || i >= m->metadata.size()) return nullptr;
  if (len) *len = m->metadata[i].first.size();
  return m->metadata[i].first.data();
}

mlxc_gguf_kind mlxc_gguf_map_metadata_kind(mlxc_gguf_map m, size_t i) {
  const auto* v = metadata_at(m, i);
  if (v == nullptr) return MLXC_GGUF_NONE;
  if (std::holds_alternative<mx::array>(*v)) return MLXC_GGUF_ARRAY;
  if (std::holds_alternative<std::string>(*v)) return MLXC_GGUF_STRING;
  if (std::holds_alternative<std::vector<std::string>>(*v)) return MLXC_GGUF_STRINGS;
  return MLXC_GGUF_NONE;
}

int mlxc_gguf_map_metadata_array(mlxc_array* res, mlxc_gguf_map m, size_t i) {
  return guard_unlocked([&] {
    check_out(res);
    const auto* v = metadata_at(m, i);
    const auto* a = v ? std::get_if<mx::array>(v) : nullptr;
    if (a == nullptr) throw std::invalid_argument("[mlxc] GGUF metadata entry is not an array");
    put(res, *a);
  });
}

const char* mlxc_gguf_map_metadata_string(mlxc_gguf_map m, size_t i, size_t* len) {
  const auto* v = metadata_at(m, i);
  const auto* s = v ? std::get_if<std::string>(v) : nullptr;
  if (s == nullptr) return nullptr;
  if (len) *len = s->size();
  return s->data();
}

size_t mlxc_gguf_map_metadata_strings_size(mlxc_gguf_map m, size_t i) {
  const auto* v = metadata_at(m, i);
  const auto* l = v ? std::get_if<std::vector<std::string>>(v) : nullptr;
  return l ? l->size() : 0;
}

const char* mlxc_gguf_map_metadata_strings_get(mlxc_gguf_map m, size_t i, size_t j, size_t* len) {
  const auto* v = metadata_at(m, i);
  const auto* l = v ? std::get_if<std::vector<std::string>>(v) : nullptr;
  if (l == nullptr || j >= l->size()) return nullptr;
  if (len) *len = (*l)[j].size();
  return (*l)[j].data();
}

void mlxc_gguf_map_free(mlxc_gguf_map m) { delete m; }

}  // extern "C"
