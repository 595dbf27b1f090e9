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
// then the outputs of each node in tape order. The structure is kept flat (a few vectors for the
// whole tape, not a few per node): a training step's region has thousands of nodes, traced at
// every evaluation, and allocating per node cost more than the rest of the trace.
struct Node {
  std::shared_ptr<mx::Primitive> primitive;
  uint32_t edges_begin;  // this node's input slots: Structure::edges[edges_begin, edges_end)
  uint32_t edges_end;
  uint32_t outputs;  // how many outputs; their slots follow the previous nodes' outputs
};

// The structure of a region: what is cached and compared.
struct Structure {
  std::vector<Node> nodes;
  std::vector<uint32_t> edges;  // every node's input slots, in node order
  // Shapes as each array's rank followed by its dimensions, and dtypes: the region's inputs, in
  // slot order, and every node's outputs, in tape order.
  std::vector<int32_t> input_dims;
  std::vector<mx::Dtype> input_dtypes;
  std::vector<int32_t> value_dims;
  std::vector<mx::Dtype> value_dtypes;
  std::vector<uint32_t> outputs;  // slots the compiled function returns

  void clear() {
    nodes.clear();
    edges.clear();
    input_dims.clear();
    input_dtypes.clear();
    value_dims.clear();
    value_dtypes.clear();
    outputs.clear();
  }
};

// A region found at one evaluation point.
struct Region {
  Structure structure;
  std::vector<mx::array> inputs;
  std::vector<mx::array> values;  // every node output, by slot minus the input count
  // Per value: whether it is a scalar broadcast to a shape (see `Tracer`), which the region
  // computes for its own nodes but does not hand back, and whose node it leaves as it is.
  std::vector<bool> scalar_broadcast;
  size_t hash = 0;
  bool compilable = true;

  // Drops the handles on the graph, keeping the buffers' capacity for the next trace.
  void release() {
    structure.clear();
    inputs.clear();
    values.clear();
    scalar_broadcast.clear();
  }

  // After a compiled replay: the traced graph will never be evaluated, and its internal nodes
  // (every value but the outputs, which were redirected to the compiled results) are held by
  // nothing outside the region. Emptying their input lists before the handles go lets each node
  // go at once: MLX's array destructor otherwise frees a graph without recursion by collecting
  // each node's inputs in a hash map, and on a chain of `x + 1` that cost more than tracing it.
  // The outputs keep their siblings and inputs (MLX's `detach` would also reach into siblings,
  // outputs among them).
  void cut_internal_nodes() {
    const size_t n_inputs = inputs.size();
    size_t next = 0;  // the outputs are in ascending slot order
    for (size_t i = 0; i < values.size(); ++i) {
      if (next < structure.outputs.size() && structure.outputs[next] == n_inputs + i) {
        next += 1;
        continue;
      }
      if (scalar_broadcast[i]) continue;
      mx::array& a = values[i];
      a.inputs().clear();
      a.set_siblings({}, 0);
    }
  }
};

void mix(size_t& h, size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); }

void push_shape(std::vector<int32_t>& dims, const mx::Shape& shape) {
  dims.push_back(static_cast<int32_t>(shape.size()));
  dims.insert(dims.end(), shape.begin(), shape.end());
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
// The dtype and bits of the element at `a`'s data (its first element), which must be computed.
ScalarKey element_key(const mx::array& a) {
  ScalarKey k{static_cast<int>(a.dtype().val()), 0};
  std::memcpy(&k.bits, a.data<uint8_t>(), a.itemsize());
  return k;
}
std::optional<ScalarKey> scalar_key(const mx::array& a) {
  if (a.ndim() != 0 || a.nbytes() > sizeof(uint64_t) ||
      a.status() != mx::array::Status::available) {
    return std::nullopt;
  }
  return element_key(a);
}

// Array ids to slots, by open addressing. Reused from trace to trace: a generation stamp empties
// it without touching every bucket, and nothing is allocated once it has grown to the size of
// the regions seen.
class SlotMap {
 public:
  void clear() {
    size_ = 0;
    if (++generation_ == 0) {  // wrapped: stamps from 2^32 traces ago would look current
      std::fill(stamps_.begin(), stamps_.end(), 0);
      generation_ = 1;
    }
  }

  const uint32_t* find(uintptr_t key) const {
    if (keys_.empty()) return nullptr;
    for (size_t i = bucket(key);; i = (i + 1) & mask()) {
      if (stamps_[i] != generation_) return nullptr;
      if (keys_[i] == key) return &values_[i];
    }
  }

  // Inserts `key` unless present.
  void insert(uintptr_t key, uint32_t value) {
    if (2 * (size_ + 1) > keys_.size()) grow();
    for (size_t i = bucket(key);; i = (i + 1) & mask()) {
      if (stamps_[i] != generation_) {
        stamps_[i] = generation_;
        keys_[i] = key;
        values_[i] = value;
        size_ += 1;
        return;
      }
      if (keys_[i] == key) return;
    }
  }

 private:
  size_t mask() const { return keys_.size() - 1; }
  size_t bucket(uintptr_t key) const {
    // Ids are node addresses: the low bits are alignment, the high ones mostly equal.
    return static_cast<size_t>((key >> 4) * 0x9e3779b97f4a7c15ULL >> 20) & mask();
  }
  void grow() {
    std::vector<uintptr_t> keys = std::move(keys_);
    std::vector<uint32_t> values = std::move(values_);
    std::vector<uint32_t> stamps = std::move(stamps_);
    size_t capacity = std::max<size_t>(1024, 2 * keys.size());
    keys_.assign(capacity, 0);
    values_.assign(capacity, 0);
    stamps_.assign(capacity, 0);
    uint32_t old = generation_;
    generation_ = 1;
    size_ = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (stamps[i] == old) insert(keys[i], values[i]);
    }
  }

  std::vector<uintptr_t> keys_;
  std::vector<uint32_t> values_;
  std::vector<uint32_t> stamps_;  // a bucket is used when its stamp is the current generation
  uint32_t generation_ = 1;
  size_t size_ = 0;
};

// Whether `a` is available and repeats one element over a shape of several: a scalar broadcast
// to that shape and computed (a view with zero strides).
bool is_broadcast_view(const mx::array& a) {
  // `is_available` last: it waits for nothing, but can only tell once the array has been
  // scheduled, and it then notes that the computation has finished.
  return a.ndim() > 0 && a.size() > 1 && a.data_size() == 1 &&
         a.itemsize() <= sizeof(uint64_t) && a.is_available();
}

// A `Broadcast` primitive to `shape` on `stream`, made through `mx::broadcast_to` (libmlx does not
// export the class). Kept between traces, by stream and shape: regions meet the same few.
std::shared_ptr<mx::Primitive> broadcast_primitive(mx::Stream stream, const mx::Shape& shape) {
  struct Made {
    mx::Stream stream;
    mx::Shape shape;
    std::shared_ptr<mx::Primitive> primitive;
  };
  static std::vector<Made> made;
  for (const auto& m : made) {
    if (m.stream == stream && m.shape == shape) return m.primitive;
  }
  if (made.size() >= 64) made.clear();
  auto p = mx::broadcast_to(mx::array(0.0f), shape, stream).primitive_ptr();
  made.push_back({stream, shape, p});
  return p;
}

// The type of MLX's `Broadcast` primitive.
const std::type_info& broadcast_type() {
  static const std::type_info& t = typeid(*mx::broadcast_to(mx::array(0.0f), {2}).primitive_ptr());
  return t;
}

// Whether `a` is a pending `Broadcast` of a computed 0-d scalar.
bool is_pending_scalar_broadcast(const mx::array& a) {
  if (!a.has_primitive() || a.inputs().size() != 1) return false;
  const mx::array& in = a.inputs()[0];
  return in.ndim() == 0 && a.ndim() > 0 && in.status() == mx::array::Status::available &&
         typeid(a.primitive()) == broadcast_type();
}

// Everything a trace needs besides its result, kept between traces (which run under the graph
// lock, one at a time) so that tracing a region seen before allocates nothing.
//
// Scalars broadcast to a shape. A program that adds the same scalar to many arrays of one shape
// may keep the scalar broadcast to that shape (burn-mlx does: one node instead of one per op),
// and once computed that array is a view whose strides are 0. As a region input it would be
// a strided array, which takes MLX's fused kernels off their contiguous path (a chain of
// `x + 1` evaluated 2.2 times slower), and equal scalars would not share one input. The trace
// therefore reads such a view as its scalar (0-d, one input per value) followed by a
// `Broadcast` node, which the compiler fuses away. The same holds for a pending `Broadcast` of
// a computed scalar that something outside the region keeps: the region computes it for its own
// nodes, but does not hand it back, since a fused kernel's results are dense arrays and a kept
// broadcast would become a full-size copy; the node stays pending for the next region (unless
// it is one of the arrays being evaluated).
struct Tracer {
  Region region;
  SlotMap slot_of;
  std::vector<std::pair<mx::array, size_t>> stack;
  std::unordered_map<ScalarKey, uint32_t, ScalarKeyHash> scalar_slot;
  // 0-d copies of the scalars that broadcast views repeat, by value; bounded.
  std::unordered_map<ScalarKey, mx::array, ScalarKeyHash> view_scalars;
  std::vector<long> internal;
  std::vector<bool> is_output;

  // Walks the pending graph behind `targets` (iteratively: graphs can be deep) into `region`.
  // Arrays that are computed or already scheduled are the region's inputs.
  Region& trace(const std::vector<mx::array>& targets);

  // Drops every handle on the graph (the region's, and the walk's if it stopped midway).
  void release() {
    region.release();
    stack.clear();
  }

 private:
  // Makes `a`, computed or scheduled, an input of the region.
  void add_input(const mx::array& a);
  // Appends a node applying `primitive` to the values `in` (their ids are traced already),
  // whose outputs are `output` and its siblings.
  void add_node(std::shared_ptr<mx::Primitive> primitive, const std::vector<mx::array>& in,
                const mx::array& output, bool scalar_broadcast);
  // Adds `view` (see `is_broadcast_view`), read by a node on `stream`, as its scalar followed by
  // a `Broadcast` node.
  void add_broadcast_view(const mx::array& view, mx::Stream stream);
};

Tracer& tracer() {
  static Tracer t;
  return t;
}

void Tracer::add_input(const mx::array& a) {
  Region& r = region;
  uint32_t slot = static_cast<uint32_t>(r.inputs.size());
  // Scalars already computed on the host (`x + 1.0`, an optimizer's betas: a new array per op)
  // are one input per value: a chain of 200 `+ 1.0` reads one scalar, not 200, and each call of
  // its compiled function passes 2 arrays instead of 201. Which scalars are equal is then part
  // of the structure: a step whose values happen to coincide differently is another region
  // (compiled separately, never wrong).
  if (auto key = scalar_key(a)) {
    auto [it, fresh] = scalar_slot.emplace(*key, slot);
    if (!fresh) {
      slot_of.insert(a.id(), it->second);
      return;
    }
  }
  slot_of.insert(a.id(), slot);
  r.inputs.push_back(a);
  push_shape(r.structure.input_dims, a.shape());
  r.structure.input_dtypes.push_back(a.dtype());
}

void Tracer::add_node(std::shared_ptr<mx::Primitive> primitive, const std::vector<mx::array>& in,
                      const mx::array& output, bool scalar_broadcast) {
  Region& r = region;
  Structure& st = r.structure;
  Node n;
  n.edges_begin = static_cast<uint32_t>(st.edges.size());
  for (const auto& i : in) st.edges.push_back(*slot_of.find(i.id()));
  n.edges_end = static_cast<uint32_t>(st.edges.size());
  // The node's outputs in the primitive's order, as `output.outputs()` lists them, without the
  // vector that call builds (one allocation per node of every traced region).
  const auto& siblings = output.siblings();
  const size_t position = output.sibling_position();
  n.outputs = static_cast<uint32_t>(siblings.size() + 1);
  for (size_t k = 0; k < n.outputs; ++k) {
    const mx::array& o = k == position ? output : siblings[k < position ? k : k - 1];
    push_shape(st.value_dims, o.shape());
    st.value_dtypes.push_back(o.dtype());
    // Node slots are provisional (inputs found later still take the low numbers).
    uint32_t provisional = (1u << 31) | static_cast<uint32_t>(r.values.size());
    slot_of.insert(o.id(), provisional);
    r.values.push_back(o);
    r.scalar_broadcast.push_back(scalar_broadcast);
  }
  r.compilable = r.compilable && primitive->is_equivalent(*primitive);
  n.primitive = std::move(primitive);
  st.nodes.push_back(std::move(n));
}

void Tracer::add_broadcast_view(const mx::array& view, mx::Stream stream) {
  const ScalarKey key = element_key(view);
  auto it = view_scalars.find(key);
  if (it == view_scalars.end()) {
    if (view_scalars.size() >= 256) view_scalars.clear();
    it = view_scalars.emplace(key, array_from_bytes(view.data<uint8_t>(), {}, view.dtype())).first;
  }
  add_input(it->second);
  add_node(broadcast_primitive(stream, view.shape()), {it->second}, view, true);
}

Region& Tracer::trace(const std::vector<mx::array>& targets) {
  Region& r = region;
  r.release();
  r.compilable = true;
  Structure& st = r.structure;
  slot_of.clear();
  stack.clear();
  scalar_slot.clear();
  for (const auto& t : targets) {
    if (slot_of.find(t.id())) continue;
    if (t.status() != mx::array::Status::unscheduled) {
      add_input(t);
      continue;
    }
    stack.emplace_back(t, 0);
    while (!stack.empty()) {
      auto& [a, next] = stack.back();
      if (next < a.inputs().size()) {
        const mx::array& in = a.inputs()[next++];
        if (slot_of.find(in.id())) continue;
        if (in.status() == mx::array::Status::unscheduled) {
          stack.emplace_back(in, 0);
        } else if (is_broadcast_view(in)) {
          add_broadcast_view(in, a.primitive().stream());
        } else {
          add_input(in);
        }
        continue;
      }
      if (!slot_of.find(a.id())) {
        add_node(a.primitive_ptr(), a.inputs(), a, is_pending_scalar_broadcast(a));
      }
      stack.pop_back();
    }
  }
  // Final numbering: inputs first, then node outputs.
  const uint32_t n_inputs = static_cast<uint32_t>(r.inputs.size());
  auto final_slot = [n_inputs](uint32_t s) {
    return (s & (1u << 31)) ? n_inputs + (s & ~(1u << 31)) : s;
  };
  for (auto& s : st.edges) s = final_slot(s);
  // Outputs: the targets, and every intermediate held from outside the region (but scalar
  // broadcasts, see above).
  internal.assign(r.values.size(), 1);  // the handle in `values`
  for (auto s : st.edges) {
    if (s >= n_inputs) internal[s - n_inputs] += 1;
  }
  // Each output of a multi-output node is also held by its siblings.
  size_t v = 0;
  for (const auto& n : st.nodes) {
    for (uint32_t k = 0; k < n.outputs; ++k) internal[v++] += n.outputs - 1;
  }
  is_output.assign(r.values.size(), false);
  for (const auto& t : targets) {
    uint32_t s = final_slot(*slot_of.find(t.id()));
    if (s >= n_inputs) {
      internal[s - n_inputs] += 1;
      is_output[s - n_inputs] = true;
    }
  }
  for (size_t i = 0; i < r.values.size(); ++i) {
    // A broadcast view read as its scalar is computed already, even where it is a target.
    if (r.scalar_broadcast[i] &&
        (!is_output[i] || r.values[i].status() != mx::array::Status::unscheduled)) {
      continue;
    }
    if (is_output[i] || use_count(r.values[i]) > internal[i]) {
      st.outputs.push_back(n_inputs + static_cast<uint32_t>(i));
    }
  }
  // The hash covers everything but the primitives' attributes, which `same` compares.
  size_t h = st.nodes.size();
  for (const auto& n : st.nodes) {
    // The type_info object's address: `hash_code` hashes the type's name on every call.
    mix(h, reinterpret_cast<uintptr_t>(&typeid(*n.primitive)));
    mix(h, n.edges_end - n.edges_begin);
    mix(h, n.outputs);
  }
  for (auto s : st.edges) mix(h, s);
  for (auto d : st.input_dims) mix(h, static_cast<size_t>(d));
  for (auto d : st.value_dims) mix(h, static_cast<size_t>(d));
  for (auto d : st.input_dtypes) mix(h, static_cast<size_t>(d.val()));
  for (auto d : st.value_dtypes) mix(h, static_cast<size_t>(d.val()));
  for (auto s : st.outputs) mix(h, s);
  r.hash = h;
  return r;
}

bool same_primitive(mx::Primitive& a, mx::Primitive& b) {
  return typeid(a) == typeid(b) && a.stream() == b.stream() && a.is_equivalent(b);
}

bool same(const Structure& a, const Structure& b) {
  if (a.nodes.size() != b.nodes.size() || a.edges != b.edges || a.outputs != b.outputs ||
      a.input_dims != b.input_dims || a.value_dims != b.value_dims ||
      a.input_dtypes != b.input_dtypes || a.value_dtypes != b.value_dtypes) {
    return false;
  }
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    if (x.edges_end - x.edges_begin != y.edges_end - y.edges_begin || x.outputs != y.outputs ||
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
    // Each node that reads a broadcast scalar gets a `Broadcast` node of its own, as MLX's ops
    // build it: MLX's compiler fuses a broadcast into the kernel of its reader, but leaves one
    // that kernels of several readers share as a strided array between them.
    std::vector<bool> broadcast_scalar(inputs.size(), false);
    size_t dims = 0;  // cursor in value_dims
    size_t value = 0;  // cursor in value_dtypes
    for (const auto& n : s->nodes) {
      std::vector<mx::array> in;
      in.reserve(n.edges_end - n.edges_begin);
      for (uint32_t e = n.edges_begin; e < n.edges_end; ++e) {
        const mx::array& v = slots[s->edges[e]];
        if (broadcast_scalar[s->edges[e]]) {
          in.push_back(mx::broadcast_to(v.inputs()[0], v.shape(), v.primitive().stream()));
        } else {
          in.push_back(v);
        }
      }
      std::vector<mx::Shape> shapes;
      std::vector<mx::Dtype> dtypes;
      for (uint32_t k = 0; k < n.outputs; ++k) {
        auto rank = static_cast<size_t>(s->value_dims[dims]);
        auto first = s->value_dims.begin() + static_cast<std::ptrdiff_t>(dims + 1);
        shapes.emplace_back(first, first + static_cast<std::ptrdiff_t>(rank));
        dims += rank + 1;
        dtypes.push_back(s->value_dtypes[value++]);
      }
      bool broadcasts_scalar = in.size() == 1 && in[0].ndim() == 0 && n.outputs == 1 &&
                               typeid(*n.primitive) == broadcast_type();
      auto out = mx::array::make_arrays(std::move(shapes), dtypes, n.primitive, in);
      slots.insert(slots.end(), out.begin(), out.end());
      broadcast_scalar.resize(slots.size(), false);
      broadcast_scalar.back() = broadcasts_scalar;
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

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void evaluate(const std::vector<mx::array>& arrays, bool async) {
  note_evaluation();
  auto start = Clock::now();
  eval_arrays(arrays, async);
  cache().stats.eval_seconds += seconds_since(start);
}

void region_eval(std::vector<mx::array> targets, bool async) {
  Cache& c = cache();
  Tracer& t = tracer();
  // The tracer's buffers hold handles on the graph; none may outlive this call, whatever throws.
  struct Release {
    Tracer& t;
    ~Release() { t.release(); }
  } release{t};
  auto traced = Clock::now();
  Region& r = t.trace(targets);
  c.stats.regions += 1;
  c.stats.nodes += r.structure.nodes.size();
  if (r.structure.nodes.empty()) {
    c.stats.trace_seconds += seconds_since(traced);
    // Nothing pending; an ordinary evaluation still waits for arrays already scheduled.
    evaluate(targets, async);
    return;
  }
  Entry& e = lookup(c, r);
  e.sightings += 1;
  c.stats.trace_seconds += seconds_since(traced);
  std::vector<mx::array> results;
  auto replayed = Clock::now();
  if (!e.uncompilable && e.sightings >= c.threshold) {
    if (!e.compiled) e.compiled = mx::detail::compile(replay(e.structure), entry_id(e));
    auto thread_cache = mx::detail::compile_cache();
    bool first_here = std::none_of(e.caches.begin(), e.caches.end(), [&](const auto& w) {
      return !w.owner_before(thread_cache) && !thread_cache.owner_before(w);
    });
    if (first_here) e.caches.push_back(thread_cache);
    // The first call on a thread traces and fuses (MLX's compiler caches per thread).
    try {
      results = (*e.compiled)(r.inputs);
    } catch (const std::exception&) {
      e.uncompilable = true;
    }
    if (first_here) {
      c.stats.compiles += 1;
      c.stats.compile_seconds += seconds_since(replayed);
      replayed = Clock::now();
    }
  }
  if (results.empty()) {
    c.stats.eager += 1;
    if (e.uncompilable) c.stats.uncompilable += 1;
    // Drop the trace's handles first: while they live, MLX cannot free any intermediate buffer
    // during the evaluation, and the peak memory would be that of the whole region.
    r.release();
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
  r.cut_internal_nodes();
  r.release();
  c.stats.replay_seconds += seconds_since(replayed);
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
