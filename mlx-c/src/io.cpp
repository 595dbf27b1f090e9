// File IO: .npy (whole files and in-memory buffers) and safetensors.
#include <cstdlib>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "internal.hpp"
#include "mlx/io.h"

struct mlxc_tensor_map_s {
  std::vector<std::pair<std::string, mx::array>> arrays;
  std::vector<std::pair<std::string, std::string>> metadata;
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

}  // namespace

extern "C" {

int mlxc_save_npy(const char* path, mlxc_array a) {
  return guard([&] {
    mx::save(std::make_shared<mx::io::FileWriter>(std::string(checked_path(path))), A(a));
  });
}

int mlxc_load_npy(mlxc_array* res, const char* path) {
  return guard([&] {
    check_out(res);
    auto out = mx::load(std::string(checked_path(path)), load_stream());
    out.eval();
    put(res, std::move(out));
  });
}

int mlxc_npy_to_bytes(uint8_t** data, size_t* len, mlxc_array a) {
  return guard([&] {
    check_out(data);
    check_out(len);
    auto writer = std::make_shared<MemoryWriter>();
    mx::save(writer, A(a));
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
    out.eval();
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
    mx::eval(to_eval);
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

}  // extern "C"
