// Closures: C function pointer + payload + destructor, wrapped as a C++ std::function.
#include "internal.hpp"

using namespace mlxc;

namespace {

// Owns the payload; runs the destructor once, when the last copy of the closure is gone.
struct Payload {
  void* data;
  mlxc_payload_dtor dtor;
  Payload(void* data, mlxc_payload_dtor dtor) : data(data), dtor(dtor) {}
  Payload(const Payload&) = delete;
  Payload& operator=(const Payload&) = delete;
  ~Payload() {
    if (dtor != nullptr) dtor(data);
  }
};

}  // namespace

namespace mlxc {

std::function<std::vector<mx::array>(const std::vector<mx::array>&)> make_function(
    mlxc_closure_fn fn, void* payload, mlxc_payload_dtor dtor) {
  auto owner = std::make_shared<Payload>(payload, dtor);
  return [fn, owner](const std::vector<mx::array>& inputs) {
    std::vector<mx::array> outputs;
    // The callee only reads `inputs`; the const_cast is for the C handle type.
    auto in = reinterpret_cast<mlxc_vector_array>(const_cast<std::vector<mx::array>*>(&inputs));
    auto out = reinterpret_cast<mlxc_vector_array>(&outputs);
    if (fn(owner->data, in, out) != 0) {
      // Thrown inside MLX's C++ frames only; the C boundary turns it back into a status.
      throw std::runtime_error(mlxc_last_error());
    }
    return outputs;
  };
}

}  // namespace mlxc

extern "C" {

int mlxc_closure_new(mlxc_closure* res, mlxc_closure_fn fn, void* payload, mlxc_payload_dtor dtor) {
  return guard_unlocked([&] {
    check_out(res);
    if (fn == nullptr) throw std::invalid_argument("[mlxc] null closure function");
    *res = new mlxc_closure_s{make_function(fn, payload, dtor)};
  });
}

void mlxc_closure_free(mlxc_closure c) { delete c; }

int mlxc_closure_apply(mlxc_vector_array* res, mlxc_closure c, mlxc_arrays inputs) {
  return guard([&] {
    check_out(res);
    put(res, C(c).fn(AV(inputs)));
  });
}

}  // extern "C"
