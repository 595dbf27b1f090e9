// Groups of the distributed API: the handle and the helpers the collectives' table lines use.
#pragma once

#include "internal.hpp"

struct mlxc_group_s;

namespace mlxc {

// A group and the backend it was made through ("ring", "nccl", ..., or "any").
struct Group {
  mx::distributed::Group group;
  std::string backend;
};

// The group of a handle, or of the last init when the handle is null (an error before any init).
const Group& group_or_default(mlxc_group group);

// The group of a collective on `x`, after checking what can be checked before calling MLX.
std::optional<mx::distributed::Group> collective_group(const char* op, const mx::array& x,
                                                       mlxc_group group);
// The same for sum_scatter, whose first axis must divide among the processes.
std::optional<mx::distributed::Group> scatter_group(const mx::array& x, mlxc_group group);
// The same for send and receive, whose peer must be another process of the group.
std::optional<mx::distributed::Group> peer_group(const char* op, int peer, mx::Dtype dtype,
                                                 mlxc_group group);

}  // namespace mlxc

struct mlxc_group_s {
  mlxc::Group g;
};
