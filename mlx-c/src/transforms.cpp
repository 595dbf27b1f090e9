// Function transforms over closures: vjp, jvp, value_and_grad, vmap, compile, checkpoint,
// custom_vjp. Each returns its results through out-handles; closures are described in mlxc.h.
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
    *res = wrap(mx::checkpoint(C(f).fn));
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
      return vjp_fn(args);
    };
    *res = wrap(mx::custom_vjp(C(f).fn, fun_vjp));
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

}  // extern "C"
