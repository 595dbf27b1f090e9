// Definitions of the op table's distributed family (include/mlxc/ops/distributed.def), with the
// checks that run before MLX sees the arguments.
#include <sstream>

#include "distributed.hpp"

namespace mlxc {
namespace {

// The dtypes NCCL can reduce and move: MLX's NCCL backend ends the process on the others.
void check_nccl_dtype(const char* op, const Group& g, mx::Dtype dtype) {
  if (g.backend != "nccl") return;
  switch (dtype) {
    case mx::bool_:
    case mx::uint16:
    case mx::int16:
    case mx::complex64:
    {
      std::ostringstream os;
      os << "[" << op << "] NCCL has no " << dtype << " type; convert the array first";
      throw std::invalid_argument(os.str());
    }
    default:
      return;
  }
}

}  // namespace

std::optional<mx::distributed::Group> collective_group(const char* op, const mx::array& x,
                                                       mlxc_group group) {
  const Group& g = group_or_default(group);
  check_nccl_dtype(op, g, x.dtype());
  return g.group;
}

std::optional<mx::distributed::Group> scatter_group(const mx::array& x, mlxc_group group) {
  const Group& g = group_or_default(group);
  check_nccl_dtype("sum_scatter", g, x.dtype());
  int n = g.group.size();
  if (x.ndim() == 0 || x.shape(0) % n != 0) {
    throw std::invalid_argument("[sum_scatter] the first axis of shape " +
                                checks::shape_str(x.shape()) +
                                " must divide among the group's " + std::to_string(n) +
                                " processes");
  }
  return g.group;
}

std::optional<mx::distributed::Group> peer_group(const char* op, int peer, mx::Dtype dtype,
                                                 mlxc_group group) {
  const Group& g = group_or_default(group);
  check_nccl_dtype(op, g, dtype);
  int n = g.group.size();
  if (peer < 0 || peer >= n) {
    throw std::invalid_argument(std::string("[") + op + "] process " + std::to_string(peer) +
                                " is not in the group of " + std::to_string(n));
  }
  if (peer == g.group.rank()) {
    throw std::invalid_argument(std::string("[") + op + "] process " + std::to_string(peer) +
                                " is this process");
  }
  return g.group;
}

}  // namespace mlxc

MLXC_DEFINE_OPS
#include "mlxc/ops/distributed.def"
MLXC_END_OPS
