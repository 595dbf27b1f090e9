// Compiled evaluation of lazy graphs ("regions").
//
// A program that builds the same lazy graph again and again (a training step: forward, backward,
// optimizer update) gets MLX's kernel fusion without being written as a function for
// `mx::compile`: at an evaluation point, the pending graph behind the arrays being evaluated is
// walked into a tape of primitive applications whose inputs are the already computed arrays it
// reads (parameters, data, scalars). The tape's structure is looked up in a cache. A region seen
// often enough is turned into a function that replays the tape, compiled with MLX's compiler
// (common-subexpression elimination, fused elementwise kernels) and called on the region's
// inputs; later sightings only call it. Each array being evaluated (and each intermediate that
// something outside the region still holds) then takes its value from the compiled result.
//
// A region is compiled only if every primitive in it can be compared for equivalence (MLX's
// `is_equivalent`, which its own compiler relies on); otherwise it is evaluated as usual.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <list>
#include <memory>
#include <optional>
#include <typeinfo>
#include <unordered_map>

#include "mlx/compile_impl.h"
#include "mlx/primitives.h"

#include "internal.hpp"

using namespace mlxc;

namespace {

using Fn = std::function<std::vector<mx::array>(const std::vector<mx::array>&)>;

// MLX does not expose how many handles share an array's node, but that count is what tells
// whether anything outside the region (a tensor the program keeps, a graph built later) still
// needs an intermediate. An `mx::array` is exactly one shared pointer to its node.
static_assert(sizeof(mx::array) == sizeof(std::shared_ptr<void>));
long use_count(const mx::array& a) {
  return reinterpret_cast<const std::shared_ptr<void>&>(a).use_count();
}

// One primitive application of the tape. Slots number the region's values: first its inputs,
// then the outputs of each node in tape order.
struct Node {
  std::shared_ptr<mx::Primitive> primitive;
  std::vector<uint32_t> inputs;
  std::vector<mx::Shape> shapes;
  std::vector<mx::Dtype> dtypes;
};

// The structure of a region: what is cached and compared.
struct Structure {
  std::vector<mx::Shape> input_shapes;
  std::vector<mx::Dtype> input_dtypes;
  std::vector<Node> nodes;
  std::vector<uint32_t> outputs;  // slots the compiled function returns
};

// A region found at one evaluation point.
struct Region {
  Structure structure;
  std::vector<mx::array> inputs;
  std::vector<mx::array> values;  // every node output, by slot minus the input count
  size_t hash = 0;
  bool compilable = true;
};

void mix(size_t& h, size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); }

void mix_array(size_t& h, const mx::Shape& shape, mx::Dtype dtype) {
  mix(h, shape.size());
  for (auto d : shape) mix(h, static_cast<size_t>(d));
  mix(h, static_cast<size_t>(dtype.val()));
}

// A scalar's dtype and bits, for arrays whose value can be read on the host without waiting:
// 0-d and available (made from host data, or computed and finished).
struct ScalarKey {
  int dtype;
  uint64_t bits;
  bool operator==(const ScalarKey& o) const { return dtype == o.dtype && bits == o.bits; }
};
struct ScalarKeyHash {
  size_t operator()(const ScalarKey& k) const {
    size_t h = static_cast<size_t>(k.dtype);
    mix(h, static_cast<size_t>(k.bits));
    return h;
  }
};
std::optional<ScalarKey> scalar_key(const mx::array& a) {
  if (a.ndim() != 0 || a.nbytes() > sizeof(uint64_t) ||
      a.status() != mx::array::Status::available) {
    return std::nullopt;
  }
  ScalarKey k{static_cast<int>(a.dtype().val()), 0};
  std::memcpy(&k.bits, a.data<uint8_t>(), a.nbytes());
  return k;
}

// Walks the pending graph behind `targets` (iteratively: graphs can be deep). Arrays that are
// computed or already scheduled are the region's inputs.
Region trace(const std::vector<mx::array>& targets) {
  Region r;
  std::unordered_map<uintptr_t, uint32_t> slot_of;
  std::vector<std::pair<mx::array, size_t>> stack;
  // Scalars already computed on the host (`x + 1.0`, an optimizer's betas: a new array per op)
  // are one input per value: a chain of 200 `+ 1.0` reads one scalar, not 200, and each call of
  // its compiled function passes 2 arrays instead of 201. Which scalars are equal is then part
  // of the structure: a step whose values happen to coincide differently is another region
  // (compiled separately, never wrong).
  std::unordered_map<ScalarKey, uint32_t, ScalarKeyHash> scalar_slot;
  auto input_slot = [&](const mx::array& a) {
    uint32_t slot = static_cast<uint32_t>(r.inputs.size());
    if (auto key = scalar_key(a)) {
      auto [it, fresh] = scalar_slot.emplace(*key, slot);
      if (!fresh) {
        slot_of.emplace(a.id(), it->second);
        return it->second;
      }
    }
    slot_of.emplace(a.id(), slot);
    r.inputs.push_back(a);
    return slot;
  };
  for (const auto& t : targets) {
    if (slot_of.count(t.id())) continue;
    if (t.status() != mx::array::Status::unscheduled) {
      input_slot(t);
      continue;
    }
    stack.emplace_back(t, 0);
    while (!stack.empty()) {
      auto& [a, next] = stack.back();
      if (next < a.inputs().size()) {
        const mx::array& in = a.inputs()[next++];
        if (slot_of.count(in.id())) continue;
        if (in.status() != mx::array::Status::unscheduled) {
          input_slot(in);
        } else {
          stack.emplace_back(in, 0);
        }
        continue;
      }
      if (!slot_of.count(a.id())) {
        Node n;
        n.primitive = a.primitive_ptr();
        for (const auto& in : a.inputs()) n.inputs.push_back(slot_of.at(in.id()));
        for (const auto& o : a.outputs()) {
          n.shapes.push_back(o.shape());
          n.dtypes.push_back(o.dtype());
          // Node slots are provisional (inputs found later still take the low numbers).
          uint32_t provisional = (1u << 31) | static_cast<uint32_t>(r.values.size());
          slot_of.emplace(o.id(), provisional);
          r.values.push_back(o);
        }
        r.compilable = r.compilable && n.primitive->is_equivalent(*n.primitive);
        r.structure.nodes.push_back(std::move(n));
      }
      stack.pop_back();
    }
  }
  // Final numbering: inputs first, then node outputs.
  const uint32_t n_inputs = static_cast<uint32_t>(r.inputs.size());
  auto final_slot = [n_inputs](uint32_t s) {
    return (s & (1u << 31)) ? n_inputs + (s & ~(1u << 31)) : s;
  };
  for (auto& n : r.structure.nodes) {
    for (auto& s : n.inputs) s = final_slot(s);
  }
  // Outputs: the targets, and every intermediate held from outside the region.
  std::vector<long> internal(r.values.size(), 1);  // the handle in `values`
  for (const auto& n : r.structure.nodes) {
    for (auto s : n.inputs) {
      if (s >= n_inputs) internal[s - n_inputs] += 1;
    }
  }
  // Each output of a multi-output node is also held by its siblings.
  size_t v = 0;
  for (const auto& n : r.structure.nodes) {
    for (size_t k = 0; k < n.shapes.size(); ++k) internal[v++] += n.shapes.size() - 1;
  }
  std::vector<bool> is_output(r.values.size(), false);
  for (const auto& t : targets) {
    uint32_t s = final_slot(slot_of.at(t.id()));
    if (s >= n_inputs) {
      internal[s - n_inputs] += 1;
      is_output[s - n_inputs] = true;
    }
  }
  for (size_t i = 0; i < r.values.size(); ++i) {
    if (is_output[i] || use_count(r.values[i]) > internal[i]) {
      r.structure.outputs.push_back(n_inputs + static_cast<uint32_t>(i));
    }
  }
  for (const auto& in : r.inputs) {
    r.structure.input_shapes.push_back(in.shape());
    r.structure.input_dtypes.push_back(in.dtype());
  }
  // The hash covers everything but the primitives' attributes, which `same` compares.
  size_t h = r.structure.nodes.size();
  for (size_t i = 0; i < r.inputs.size(); ++i) {
    mix_array(h, r.structure.input_shapes[i], r.structure.input_dtypes[i]);
  }
  for (const auto& n : r.structure.nodes) {
    mix(h, typeid(*n.primitive).hash_code());
    for (auto s : n.inputs) mix(h, s);
    for (size_t k = 0; k < n.shapes.size(); ++k) mix_array(h, n.shapes[k], n.dtypes[k]);
  }
  for (auto s : r.structure.outputs) mix(h, s);
  r.hash = h;
  return r;
}

bool same_primitive(mx::Primitive& a, mx::Primitive& b) {
  return typeid(a) == typeid(b) && a.stream() == b.stream() && a.is_equivalent(b);
}

bool same(const Structure& a, const Structure& b) {
  if (a.nodes.size() != b.nodes.size() || a.outputs != b.outputs ||
      a.input_shapes != b.input_shapes || a.input_dtypes != b.input_dtypes) {
    return false;
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    if (x.inputs != y.inputs || x.shapes != y.shapes || x.dtypes != y.dtypes ||
        !same_primitive(*x.primitive, *y.primitive)) {
      return false;
    }
  }
  return true;
}

// The function that rebuilds a region's graph on new inputs (what MLX's compiler traces).
Fn replay(std::shared_ptr<const Structure> s) {
  return [s](const std::vector<mx::array>& inputs) {
    std::vector<mx::array> slots(inputs);
    for (const auto& n : s->nodes) {
      std::vector<mx::array> in;
      in.reserve(n.inputs.size());
      for (auto i : n.inputs) in.push_back(slots[i]);
      auto out = mx::array::make_arrays(n.shapes, n.dtypes, n.primitive, in);
      slots.insert(slots.end(), out.begin(), out.end());
    }
    std::vector<mx::array> outputs;
    outputs.reserve(s->outputs.size());
    for (auto o : s->outputs) outputs.push_back(slots[o]);
    return outputs;
  };
}

struct Entry {
  std::shared_ptr<const Structure> structure;
  size_t hash = 0;
  uint32_t sightings = 0;
  bool uncompilable = false;
  std::optional<Fn> compiled;
  // MLX keeps a compiler cache per thread; the entry is erased from each one it was used in.
  std::vector<mx::detail::CompileCacheWeakPtr> caches;
};

struct Cache {
  std::list<Entry> entries;  // most recently used first
  size_t capacity = 64;
  // A region of a long unread loop can hold thousands of nodes, and its compiled function as
  // many again: the cache is bounded in nodes too.
  size_t max_nodes = 1 << 18;
  size_t nodes = 0;
  uint32_t threshold = 2;
  mlxc_region_stats stats{};
};

Cache& cache() {
  static Cache c;
  return c;
}

uintptr_t entry_id(const Entry& e) { return reinterpret_cast<uintptr_t>(&e); }

void forget(Entry& e) {
  for (const auto& c : e.caches) {
    if (!c.expired()) mx::detail::compile_erase(c, entry_id(e));
  }
}

void trim(Cache& c) {
  while (c.entries.size() > c.capacity || (c.nodes > c.max_nodes && c.entries.size() > 1)) {
    forget(c.entries.back());
    c.nodes -= c.entries.back().structure->nodes.size();
    c.entries.pop_back();
    c.stats.evictions += 1;
  }
}

// The cached entry for a region (moved to the front), or a new one.
Entry& lookup(Cache& c, const Region& r) {
  for (auto it = c.entries.begin(); it != c.entries.end(); ++it) {
    if (it->hash == r.hash && same(*it->structure, r.structure)) {
      c.entries.splice(c.entries.begin(), c.entries, it);
      return c.entries.front();
    }
  }
  Entry e;
  e.structure = std::make_shared<const Structure>(r.structure);
  e.hash = r.hash;
  e.uncompilable = !r.compilable;
  c.nodes += e.structure->nodes.size();
  c.entries.push_front(std::move(e));
  trim(c);
  return c.entries.front();
}

// Makes `a` take its value from `value`: its node becomes a buffer-sharing `Depends` on it (made
// through `mx::depends`, which runs on `value`'s stream; MLX does not export the primitive's
// class). `a`'s previous graph is released with its last reference.
void redirect(mx::array& a, const mx::array& value) {
  // MLX's Depends expects more inputs than outputs (the rest are dependencies only).
  mx::array d = mx::depends({value}, {value})[0];
  a.primitive_ptr() = d.primitive_ptr();
  a.inputs() = d.inputs();
  a.set_siblings({}, 0);
}

void evaluate(const std::vector<mx::array>& arrays, bool async) {
  note_evaluation();
  if (async) {
    mx::async_eval(arrays);
  } else {
    mx::eval(arrays);
  }
}

void region_eval(std::vector<mx::array> targets, bool async) {
  Cache& c = cache();
  Region r = trace(targets);
  c.stats.regions += 1;
  if (r.structure.nodes.empty()) {
    // Nothing pending; an ordinary evaluation still waits for arrays already scheduled.
    evaluate(targets, async);
    return;
  }
  Entry& e = lookup(c, r);
  e.sightings += 1;
  std::vector<mx::array> results;
  if (!e.uncompilable && e.sightings >= c.threshold) {
    if (!e.compiled) e.compiled = mx::detail::compile(replay(e.structure), entry_id(e));
    auto thread_cache = mx::detail::compile_cache();
    bool first_here = std::none_of(e.caches.begin(), e.caches.end(), [&](const auto& w) {
      return !w.owner_before(thread_cache) && !thread_cache.owner_before(w);
    });
    if (first_here) e.caches.push_back(thread_cache);
    // The first call on a thread traces and fuses (MLX's compiler caches per thread).
    auto start = std::chrono::steady_clock::now();
    try {
      results = (*e.compiled)(r.inputs);
    } catch (const std::exception&) {
      e.uncompilable = true;
    }
    if (first_here) {
      c.stats.compiles += 1;
      c.stats.compile_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
  }
  if (results.empty()) {
    c.stats.eager += 1;
    if (e.uncompilable) c.stats.uncompilable += 1;
    // Drop the trace's handles first: while they live, MLX cannot free any intermediate buffer
    // during the evaluation, and the peak memory would be that of the whole region.
    r = Region{};
    evaluate(targets, async);
    return;
  }
  c.stats.replays += 1;
  const auto& outputs = e.structure->outputs;
  const size_t n_inputs = r.inputs.size();
  std::vector<mx::array> redirected;
  redirected.reserve(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    mx::array& a = r.values[outputs[i] - n_inputs];
    redirect(a, results[i]);
    redirected.push_back(a);
  }
  // The targets are among the redirected arrays; evaluating all of them also materializes the
  // intermediates held from outside, as an ordinary evaluation would. The trace's handles go
  // first (see above).
  r = Region{};
  evaluate(redirected, async);
}

}  // namespace

extern "C" {

int mlxc_region_eval(mlxc_arrays arrays, bool async) {
  return guard([&] { region_eval(AV(arrays), async); });
}

int mlxc_region_stats_get(mlxc_region_stats* res) {
  return guard([&] {
    check_out(res);
    *res = cache().stats;
    res->cached = cache().entries.size();
  });
}

int mlxc_region_clear_cache(void) {
  return guard([&] {
    Cache& c = cache();
    for (auto& e : c.entries) forget(e);
    c.entries.clear();
    c.nodes = 0;
  });
}

int mlxc_region_set_options(size_t capacity, size_t max_nodes, uint32_t threshold) {
  return guard([&] {
    if (capacity == 0) throw std::invalid_argument("[region] the cache capacity must be at least 1");
    if (max_nodes == 0) throw std::invalid_argument("[region] the node budget must be at least 1");
    if (threshold == 0) throw std::invalid_argument("[region] the threshold must be at least 1");
    Cache& c = cache();
    c.capacity = capacity;
    c.max_nodes = max_nodes;
    c.threshold = threshold;
    trim(c);
  });
}

}  // extern "C"
