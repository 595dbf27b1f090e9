// Definitions of the op table's fast family (include/mlxc/ops/fast.def).
#include "internal.hpp"

namespace mlxc {
namespace {

std::vector<std::string> strings(mlxc_strings v, const char* what) {
  std::vector<std::string> out;
  for (size_t i = 0; i < v.len; ++i) {
    if (v.data == nullptr || v.data[i] == nullptr) {
      throw std::invalid_argument(std::string("[custom_kernel] a null string in ") + what);
    }
    out.emplace_back(v.data[i]);
  }
  return out;
}

std::tuple<int, int, int> dims3(mlxc_ints v, const char* what) {
  if (v.len != 3) {
    throw std::invalid_argument(std::string("[custom_kernel] ") + what + " needs 3 sizes");
  }
  for (size_t i = 0; i < 3; ++i) {
    if (v.data[i] <= 0) {
      throw std::invalid_argument(std::string("[custom_kernel] ") + what +
                                  " sizes must be positive");
    }
  }
  return {v.data[0], v.data[1], v.data[2]};
}

}  // namespace

// The kernel is made on every call: MLX caches the compiled code by name and source.
std::vector<mx::array> custom_kernel(const char* backend, const char* name,
                                     mlxc_strings input_names, mlxc_strings output_names,
                                     const char* source, const char* header,
                                     bool ensure_row_contiguous, int32_t shared_memory,
                                     bool atomic_outputs, mlxc_arrays inputs,
                                     mlxc_ints output_shapes, mlxc_ints output_ndims,
                                     mlxc_ints output_dtypes, mlxc_ints grid,
                                     mlxc_ints threadgroup, mlxc_strings template_names,
                                     mlxc_ints template_kinds, mlxc_ints template_values,
                                     mlxc_opt_float init_value, bool verbose,
                                     mx::StreamOrDevice s) {
  if (name == nullptr || source == nullptr || backend == nullptr) {
    throw std::invalid_argument("[custom_kernel] the backend, name and source are required");
  }
  auto ins = strings(input_names, "input_names");
  auto outs = strings(output_names, "output_names");
  auto args = AV(inputs);
  if (args.size() != ins.size()) {
    throw std::invalid_argument("[custom_kernel] " + std::to_string(args.size()) +
                                " inputs given for " + std::to_string(ins.size()) + " input names");
  }
  if (output_ndims.len != outs.size() || output_dtypes.len != outs.size()) {
    throw std::invalid_argument("[custom_kernel] one shape and one dtype per output name");
  }
  std::vector<mx::Shape> shapes;
  size_t at = 0;
  for (size_t i = 0; i < output_ndims.len; ++i) {
    auto nd = output_ndims.data[i];
    if (nd < 0 || at + nd > output_shapes.len) {
      throw std::invalid_argument("[custom_kernel] the output shapes do not match their ranks");
    }
    shapes.emplace_back(output_shapes.data + at, output_shapes.data + at + nd);
    at += nd;
  }
  if (at != output_shapes.len) {
    throw std::invalid_argument("[custom_kernel] the output shapes do not match their ranks");
  }
  std::vector<mx::Dtype> dtypes;
  for (size_t i = 0; i < output_dtypes.len; ++i) dtypes.push_back(D(mlxc_dtype(output_dtypes.data[i])));
  auto tnames = strings(template_names, "template_names");
  if (template_kinds.len != tnames.size() || template_values.len != tnames.size()) {
    throw std::invalid_argument("[custom_kernel] one kind and one value per template argument");
  }
  std::vector<std::pair<std::string, mx::fast::TemplateArg>> templates;
  for (size_t i = 0; i < tnames.size(); ++i) {
    auto v = template_values.data[i];
    switch (template_kinds.data[i]) {
      case 0: templates.emplace_back(tnames[i], mx::fast::TemplateArg(v)); break;
      case 1: templates.emplace_back(tnames[i], mx::fast::TemplateArg(v != 0)); break;
      case 2: templates.emplace_back(tnames[i], mx::fast::TemplateArg(D(mlxc_dtype(v)))); break;
      default: throw std::invalid_argument("[custom_kernel] unknown template argument kind");
    }
  }
  auto grid3 = dims3(grid, "grid");
  auto threadgroup3 = dims3(threadgroup, "threadgroup");
  std::string b = backend;
  std::string head = header ? header : "";
  mx::fast::CustomKernelFunction kernel;
  if (b == "cuda") {
    kernel = mx::fast::cuda_kernel(name, ins, outs, source, head, ensure_row_contiguous,
                                   shared_memory);
  } else if (b == "metal") {
    kernel = mx::fast::metal_kernel(name, ins, outs, source, head, ensure_row_contiguous,
                                    atomic_outputs);
  } else {
    throw std::invalid_argument("[custom_kernel] unknown backend '" + b + "' (cuda or metal)");
  }
  return kernel(args, shapes, dtypes, grid3, threadgroup3, templates, OF(init_value), verbose, s);
}

}  // namespace mlxc

MLXC_DEFINE_OPS
#include "mlxc/ops/fast.def"
MLXC_END_OPS
