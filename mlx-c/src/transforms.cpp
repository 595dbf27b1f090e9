// Function transforms over closures: vjp, jvp, value_and_grad, vmap, compile, checkpoint,
// custom_vjp, custom_function. Each returns its results through out-handles; closures are described in mlxc.h.
#include "internal.hpp"

using namespace mlxc;

namespace {

using Fn = std::function<std::vector<mx::array>(const std::vector<mx::array>&)>;

// Moves a pair of vectors into two out-handles.
void put_pair(mlxc_vector_array* first, mlxc_vector_array* second,
              std::pair<std::vector<mx::array>, std::vector<mx::array>> p) {
  check_out(first);
  check_out(second);
  put(first, std::move(p.first));
  put(second, std::move(p.second));
}

mlxc_closure wrap(Fn fn) { return new mlxc_closure_s{std::move(fn)}; }

// A 1-d int32 array of `values`.
mx::array int_array(const std::vector<int>& values) {
  return mx::array(values.begin(), mx::Shape{static_cast<int>(values.size())}, mx::int32);
}

std::optional<Fn> optional_fn(mlxc_closure c) {
  if (c == nullptr) return std::nullopt;
  return C(c).fn;
}

// `fn`, refusing to return no arrays: MLX's checkpoint and custom_vjp index the first output.
Fn nonempty_outputs(const char* op, Fn fn) {
  return [op, fn](const std::vector<mx::array>& inputs) {
    auto outputs = fn(inputs);
    if (outputs.empty()) {
      throw std::invalid_argument(std::string("[") + op + "] the function returned no arrays");
    }
    return outputs;
  };
}

// The cotangents a vjp rule returned: one per primal, each of the primal's shape. MLX indexes
// them by primal without checking the count (reading past the end) and takes any shape as the
// gradient.
void check_cotangents(const char* op, const std::vector<mx::array>& primals,
                      const std::vector<mx::array>& cotangents) {
  if (cotangents.size() != primals.size()) {
    throw std::invalid_argument(std::string("[") + op + "] the vjp rule returned " +
                                std::to_string(cotangents.size()) + " cotangents for " +
                                std::to_string(primals.size()) + " primals");
  }
  for (size_t i = 0; i < primals.size(); ++i) {
    if (cotangents[i].shape() != primals[i].shape()) {
      throw std::invalid_argument(
          std::string("[") + op + "] the vjp rule returned a cotangent of shape " +
          checks::shape_str(cotangents[i].shape()) + " for primal " + std::to_string(i) +
          " of shape " + checks::shape_str(primals[i].shape()));
    }
  }
}

void check_count(const char* rule, size_t got, size_t want, const char* what) {
  if (got != want) {
    throw std::invalid_argument("[custom_function] the " + std::string(rule) + " rule returned " +
                                std::to_string(got) + " arrays for " + std::to_string(want) +
                                " " + what);
  }
}

// custom_function with rules that talk to closures, checking what the rules return (MLX indexes
// their results without checking). A new MLX custom function is made per call, so the rules know
// how many outputs the call had.
Fn custom_function(Fn fun, std::optional<Fn> vjp, std::optional<Fn> jvp, std::optional<Fn> vmap) {
  return [fun, vjp, jvp, vmap](const std::vector<mx::array>& args) {
    auto n_out = std::make_shared<size_t>(0);
    auto counted = [fun, n_out](const std::vector<mx::array>& inputs) {
      auto outputs = fun(inputs);
      if (outputs.empty()) {
        throw std::invalid_argument("[custom_function] the function returned no arrays");
      }
      *n_out = outputs.size();
      return outputs;
    };
    using VjpFn = std::function<std::vector<mx::array>(
        const std::vector<mx::array>&, const std::vector<mx::array>&,
        const std::vector<mx::array>&)>;
    using JvpFn = std::function<std::vector<mx::array>(
        const std::vector<mx::array>&, const std::vector<mx::array>&, const std::vector<int>&)>;
    using VmapFn = std::function<std::pair<std::vector<mx::array>, std::vector<int>>(
        const std::vector<mx::array>&, const std::vector<int>&)>;
    std::optional<VjpFn> vjp_rule;
    if (vjp) {
      // Counts [primals, cotangents, outputs], then those arrays (as for mlxc_custom_vjp).
      vjp_rule = [g = *vjp](const std::vector<mx::array>& primals,
                            const std::vector<mx::array>& cotangents,
                            const std::vector<mx::array>& outputs) {
        std::vector<mx::array> in{int_array({static_cast<int>(primals.size()),
                                             static_cast<int>(cotangents.size()),
                                             static_cast<int>(outputs.size())})};
        in.insert(in.end(), primals.begin(), primals.end());
        in.insert(in.end(), cotangents.begin(), cotangents.end());
        in.insert(in.end(), outputs.begin(), outputs.end());
        auto out = g(in);
        check_count("vjp", out.size(), primals.size(), "primals");
        check_cotangents("custom_function", primals, out);
        return out;
      };
    }
    std::optional<JvpFn> jvp_rule;
    if (jvp) {
      // Counts [primals, tangents], argnums, then primals and tangents.
      jvp_rule = [g = *jvp, n_out](const std::vector<mx::array>& primals,
                                   const std::vector<mx::array>& tangents,
                                   const std::vector<int>& argnums) {
        std::vector<mx::array> in{
            int_array({static_cast<int>(primals.size()), static_cast<int>(tangents.size())}),
            int_array(argnums)};
        in.insert(in.end(), primals.begin(), primals.end());
        in.insert(in.end(), tangents.begin(), tangents.end());
        auto out = g(in);
        check_count("jvp", out.size(), *n_out, "outputs");
        return out;
      };
    }
    std::optional<VmapFn> vmap_rule;
    if (vmap) {
      // The input axes, then the inputs; returns the outputs followed by their axes.
      vmap_rule = [g = *vmap, n_out](const std::vector<mx::array>& inputs,
                                     const std::vector<int>& axes) {
        std::vector<mx::array> in{int_array(axes)};
        in.insert(in.end(), inputs.begin(), inputs.end());
        auto out = g(in);
        if (out.empty()) {
          throw std::invalid_argument("[custom_function] the vmap rule returned no output axes");
        }
        auto out_axes = mx::flatten(mx::astype(out.back(), mx::int32));
        out.pop_back();
        check_count("vmap", out.size(), *n_out, "outputs");
        eval_array(out_axes);
        if (out_axes.size() != out.size() || !out_axes.flags().row_contiguous) {
          throw std::invalid_argument("[custom_function] the vmap rule returned " +
                                      std::to_string(out_axes.size()) + " output axes for " +
                                      std::to_string(out.size()) + " outputs");
        }
        const int32_t* ax = out_axes.data<int32_t>();
        return std::make_pair(std::move(out), std::vector<int>(ax, ax + out_axes.size()));
      };
    }
    return mx::custom_function(counted, vjp_rule, jvp_rule, vmap_rule)(args);
  };
}

}  // namespace

extern "C" {

int mlxc_vjp(mlxc_vector_array* outputs, mlxc_vector_array* vjps, mlxc_closure f,
             mlxc_arrays primals, mlxc_arrays cotangents) {
  return guard([&] { put_pair(outputs, vjps, mx::vjp(C(f).fn, AV(primals), AV(cotangents))); });
}

int mlxc_jvp(mlxc_vector_array* outputs, mlxc_vector_array* jvps, mlxc_closure f,
             mlxc_arrays primals, mlxc_arrays tangents) {
  return guard([&] { put_pair(outputs, jvps, mx::jvp(C(f).fn, AV(primals), AV(tangents))); });
}

int mlxc_value_and_grad(mlxc_vector_array* values, mlxc_vector_array* grads, mlxc_closure f,
                        mlxc_ints argnums, mlxc_arrays inputs) {
  return guard([&] {
    put_pair(values, grads, mx::value_and_grad(C(f).fn, VI(argnums))(AV(inputs)));
  });
}

int mlxc_vmap(mlxc_closure* res, mlxc_closure f, mlxc_ints in_axes, mlxc_ints out_axes) {
  return guard([&] {
    check_out(res);
    *res = wrap(mx::vmap(C(f).fn, VI(in_axes), VI(out_axes)));
  });
}

int mlxc_compile(mlxc_closure* res, mlxc_closure f, bool shapeless) {
  return guard([&] {
    check_out(res);
    *res = wrap(mx::compile(C(f).fn, shapeless));
  });
}

int mlxc_checkpoint(mlxc_closure* res, mlxc_closure f) {
  return guard([&] {
    check_out(res);
    *res = wrap(mx::checkpoint(nonempty_outputs("checkpoint", C(f).fn)));
  });
}

int mlxc_export_function(const char* file, mlxc_closure f, mlxc_arrays args, bool shapeless) {
  return guard([&] {
    if (file == nullptr) throw std::invalid_argument("[export_function] the path is null");
    mx::export_function(file, C(f).fn, AV(args), shapeless);
  });
}

int mlxc_import_function(mlxc_closure* res, const char* file) {
  return guard([&] {
    check_out(res);
    if (file == nullptr) throw std::invalid_argument("[import_function] the path is null");
    auto imported = std::make_shared<mx::ImportedFunction>(mx::import_function(file));
    *res = wrap([imported](const std::vector<mx::array>& args) { return (*imported)(args); });
  });
}

int mlxc_custom_vjp(mlxc_closure* res, mlxc_closure f, mlxc_closure vjp) {
  return guard([&] {
    check_out(res);
    // The vjp closure receives primals, cotangents and outputs concatenated, preceded by a
    // 1-d int32 array holding the three counts.
    Fn vjp_fn = C(vjp).fn;
    auto fun_vjp = [vjp_fn](const std::vector<mx::array>& primals,
                            const std::vector<mx::array>& cotangents,
                            const std::vector<mx::array>& outputs) {
      std::vector<mx::array> args;
      args.reserve(1 + primals.size() + cotangents.size() + outputs.size());
      args.push_back(mx::array({static_cast<int>(primals.size()),
                                static_cast<int>(cotangents.size()),
                                static_cast<int>(outputs.size())}));
      args.insert(args.end(), primals.begin(), primals.end());
      args.insert(args.end(), cotangents.begin(), cotangents.end());
      args.insert(args.end(), outputs.begin(), outputs.end());
      auto out = vjp_fn(args);
      check_cotangents("custom_vjp", primals, out);
      return out;
    };
    *res = wrap(mx::custom_vjp(nonempty_outputs("custom_vjp", C(f).fn), fun_vjp));
  });
}

int mlxc_custom_function(mlxc_closure* res, mlxc_closure f, mlxc_closure vjp, mlxc_closure jvp,
                         mlxc_closure vmap) {
  return guard([&] {
    check_out(res);
    *res = wrap(custom_function(C(f).fn, optional_fn(vjp), optional_fn(jvp), optional_fn(vmap)));
  });
}

int mlxc_set_compile_enabled(bool enabled) {
  return guard([&] {
    if (enabled) {
      mx::enable_compile();
    } else {
      mx::disable_compile();
    }
  });
}

int mlxc_set_compile_mode(mlxc_compile_mode mode) {
  return guard([&] {
    switch (mode) {
      case MLXC_COMPILE_DISABLED: mx::set_compile_mode(mx::CompileMode::disabled); break;
      case MLXC_COMPILE_NO_SIMPLIFY: mx::set_compile_mode(mx::CompileMode::no_simplify); break;
      case MLXC_COMPILE_NO_FUSE: mx::set_compile_mode(mx::CompileMode::no_fuse); break;
      case MLXC_COMPILE_ENABLED: mx::set_compile_mode(mx::CompileMode::enabled); break;
      default: throw std::invalid_argument("[set_compile_mode] unknown mode");
    }
  });
}

}  // extern "C"
