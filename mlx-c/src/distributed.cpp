// Distributed groups: init, rank, size, split (the collectives are table ops, ops_distributed.cpp).
#include <algorithm>

#include "distributed.hpp"

using namespace mlxc;

namespace mlxc {
namespace {

// The group of the last successful init, for collectives given no group.
std::optional<Group>& default_group() {
  static std::optional<Group> g;
  return g;
}

std::string backend_name(const char* backend) {
  std::string b = backend ? backend : "any";
  return b.empty() ? "any" : b;
}

}  // namespace

const Group& group_or_default(mlxc_group group) {
  if (group != nullptr) return group->g;
  if (!default_group()) {
    throw std::invalid_argument(
        "[distributed] no group: call distributed init first (a single process may use "
        "init without strict, which gives a group of size 1)");
  }
  return *default_group();
}

}  // namespace mlxc

extern "C" {

int mlxc_distributed_is_available(bool* res, const char* backend) {
  return guard([&] {
    check_out(res);
    auto b = backend_name(backend);
    *res = b == "any" ? mx::distributed::is_available() : mx::distributed::is_available(b);
  });
}

int mlxc_distributed_init(mlxc_group* res, bool strict, const char* backend) {
  return guard([&] {
    check_out(res);
    auto b = backend_name(backend);
    static const char* known[] = {"any", "ring", "mpi", "nccl", "jaccl"};
    if (std::find(std::begin(known), std::end(known), b) == std::end(known)) {
      throw std::invalid_argument("[distributed init] unknown backend '" + b +
                                  "' (any, ring, mpi, nccl or jaccl)");
    }
    Group g{mx::distributed::init(strict, b), b};
    default_group() = g;
    *res = new mlxc_group_s{std::move(g)};
  });
}

void mlxc_group_free(mlxc_group g) {
  guard([&] { delete g; });
}

int mlxc_group_rank(int* res, mlxc_group g) {
  return guard([&] {
    check_out(res);
    *res = group_or_default(g).group.rank();
  });
}

int mlxc_group_size(int* res, mlxc_group g) {
  return guard([&] {
    check_out(res);
    *res = group_or_default(g).group.size();
  });
}

int mlxc_group_split(mlxc_group* res, mlxc_group g, int color, int key) {
  return guard([&] {
    check_out(res);
    const Group& parent = group_or_default(g);
    *res = new mlxc_group_s{Group{parent.group.split(color, key), parent.backend}};
  });
}

}  // extern "C"
