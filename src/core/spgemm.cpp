// SpGEMM glue: the plan cache, index-dtype promotion, and the calls into the CPU kernels
// (src/kernels/cpu/spgemm_kernels.*) or the ATen entry-map formulation.
//
// Cache lifetime: A's pattern owns one SpgemmCache (Pattern::cached, key "spgemm") mapping B's
// raw pattern address to {weak_ptr to B, plan}. The weak_ptr is the identity check (a dead B
// whose address was reused by a new pattern is detected as expired) and keeps B's pattern from
// being held alive by A. A plan holds only C's pattern and int64 work arrays, never A or B, so
// there is no cycle; plans of dead B patterns are dropped the next time the cache inserts.
#include "core/spgemm.h"

#include <ATen/ATen.h>

#include <unordered_map>

#include "core/dispatch.h"
#include "kernels/cpu/spgemm_kernels.h"

namespace dsla::detail {

device::Stub<SpgemmSymbolicFn> spgemm_symbolic_stub;
device::Stub<SpgemmNumericFn> spgemm_numeric_stub;
device::Stub<SpgemmRowNnzFn> spgemm_row_nnz_stub;

namespace kc = kernels::cpu;

namespace {

struct SpgemmCache {
  struct Entry {
    std::weak_ptr<const Pattern> b;
    std::shared_ptr<const SpgemmPlan> plan;
  };
  std::mutex mutex;
  std::unordered_map<const Pattern*, Entry> by_b;
};

// Dense column maps cost `cols` index entries per thread (the symbolic marker is also cleared
// once per call); hash when that is large in absolute terms or against the product's own work.
bool want_hash(int64_t rows, int64_t cols, int64_t multiplies) {
  const int64_t nt = num_threads();
  return cols > (int64_t{1} << 22) || (cols > 4096 && cols * nt > 4 * (multiplies + rows));
}

// The kernels' argument groups from index tensors of the plan's dtype.
template <class I>
kernels::CsrPattern<I> pattern_of(int64_t rows, const at::Tensor& crow, const at::Tensor& col) {
  return {rows, ptr<I>(crow), ptr<I>(col)};
}

int64_t batch_of(int64_t x, int64_t y, const char* what) {
  TORCH_CHECK_VALUE(x == y || x == 1 || y == 1, "dsla: ", what, ": batch sizes ", x, " and ", y,
                    " do not match");
  return std::max(x, y);
}

at::Tensor work_of(int64_t rows, const at::Tensor& a_crow, const at::Tensor& a_col,
                   const at::Tensor& b_crow) {
  auto work = at::empty({rows + 1}, a_crow.options().dtype(at::kLong));
  DSLA_DISPATCH_INDEX(a_crow.scalar_type(), "spgemm", [&] {
    kc::spgemm_work<index_t>(pattern_of<index_t>(rows, a_crow, a_col), ptr<index_t>(b_crow),
                             ptr<int64_t>(work), num_threads());
  });
  return work;
}

std::shared_ptr<const SpgemmPlan> make_plan(const Pattern& a, const Pattern& b) {
  const int64_t rows = a.rows(), cols = b.cols();
  // Work in the wider index dtype of A and B; promote further below if C itself needs int64.
  auto idt = (a.index_dtype() == at::kLong || b.index_dtype() == at::kLong) ? at::kLong : at::kInt;
  auto a_crow = a.crow().to(idt), a_col = a.col().to(idt);
  auto b_crow = b.crow().to(idt), b_col = b.col().to(idt);
  auto plan = std::make_shared<SpgemmPlan>();
  plan->work = work_of(rows, a_crow, a_col, b_crow);
  plan->multiplies = plan->work[rows].item<int64_t>();
  plan->hash = want_hash(rows, cols, plan->multiplies);
  const kc::SpgemmRows rs{cols, ptr<int64_t>(plan->work), plan->hash, num_threads()};

  auto row_nnz = at::empty({rows}, plan->work.options());
  DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
    kc::spgemm_symbolic_count<index_t>(pattern_of<index_t>(rows, a_crow, a_col),
                                       pattern_of<index_t>(b.rows(), b_crow, b_col), rs,
                                       ptr<int64_t>(row_nnz));
  });
  auto crow64 = at::zeros({rows + 1}, row_nnz.options());
  if (rows > 0) {
    auto tail = crow64.narrow(0, 1, rows);
    at::cumsum_out(tail, row_nnz, 0);
  }
  const int64_t nnz = crow64[rows].item<int64_t>();
  if (Pattern::index_dtype_for(rows, cols, nnz) == at::kLong && idt == at::kInt) {
    idt = at::kLong;
    a_crow = a_crow.to(idt), a_col = a_col.to(idt), b_crow = b_crow.to(idt), b_col = b_col.to(idt);
  }
  auto c_crow = crow64.to(idt);
  auto c_col = at::empty({nnz}, c_crow.options());
  DSLA_DISPATCH_INDEX(idt, "spgemm", [&] {
    kc::spgemm_symbolic_fill<index_t>(pattern_of<index_t>(rows, a_crow, a_col),
                                      pattern_of<index_t>(b.rows(), b_crow, b_col), rs,
                                      ptr<index_t>(c_crow), ptr<index_t>(c_col));
  });
  plan->c = Pattern::from_csr(c_crow, c_col, rows, cols, /*check=*/false);
  return plan;
}

// A pattern's index arrays in the plan's index dtype (a no-op unless A or B is int32 and C
// needed int64). Plain function so kernels get matching pointer types.
struct Idx {
  at::Tensor crow, col;
};
Idx idx(const Pattern& p, at::ScalarType dt) {
  return {p.crow().to(dt), p.col().to(dt)};
}

// values [B or 1, nnz]: a single value set broadcasts over the batch (stride 0).
template <class V, class I>
kernels::CsrView<V, I> view_of(int64_t rows, const Idx& ix, const at::Tensor& values, int64_t nnz) {
  return {rows, ptr<I>(ix.crow), ptr<I>(ix.col), ptr<V>(values), values.size(0) == 1 ? 0 : nnz};
}

PatternPtr cpu(const PatternPtr& p) {
  return p->device().is_cpu() ? p : p->to(at::kCPU);
}

}  // namespace

const at::Tensor& SpgemmPlan::work_t(const Pattern& a, const Pattern& b) const {
  std::lock_guard<std::mutex> g(mutex_);
  if (!work_t_.defined()) {
    // Rows of Bᵀ Aᵀ: sampled(Bᵀ, ·, Aᵀ) walks, for row k of Bᵀ, the rows of Aᵀ.
    const auto dt = c->index_dtype();
    auto bt = idx(*b.transpose(), dt), at_ = idx(*a.transpose(), dt);
    work_t_ = work_of(b.cols(), bt.crow, bt.col, at_.crow);
  }
  return work_t_;
}

const SpgemmPlan::Entries& SpgemmPlan::entries(const Pattern& a, const Pattern& b,
                                               c10::Device device) const {
  std::lock_guard<std::mutex> g(mutex_);
  const std::string key = device.str();
  auto it = entries_.find(key);
  if (it != entries_.end()) return it->second;
  Entries e;
  auto host = entries_.find("cpu");
  if (host == entries_.end()) {
    const auto dt = c->index_dtype();
    auto ai = idx(a, dt), bi = idx(b, dt);
    auto opts = work.options();
    e.a_pos = at::empty({multiplies}, opts);
    e.b_pos = at::empty({multiplies}, opts);
    e.c_pos = at::empty({multiplies}, opts);
    DSLA_DISPATCH_INDEX(dt, "spgemm", [&] {
      kc::spgemm_expand<index_t>(pattern_of<index_t>(a.rows(), ai.crow, ai.col),
                                 pattern_of<index_t>(b.rows(), bi.crow, bi.col),
                                 pattern_of<index_t>(c->rows(), c->crow(), c->col()),
                                 kc::SpgemmRows{b.cols(), ptr<int64_t>(work), hash, num_threads()},
                                 ptr<int64_t>(e.a_pos), ptr<int64_t>(e.b_pos),
                                 ptr<int64_t>(e.c_pos));
    });
    host = entries_.emplace("cpu", e).first;
  }
  if (device.is_cpu()) return host->second;
  e = {host->second.a_pos.to(device), host->second.b_pos.to(device), host->second.c_pos.to(device)};
  return entries_.emplace(key, e).first->second;
}

std::shared_ptr<const SpgemmPlan> spgemm_plan(const PatternPtr& a_any, const PatternPtr& b_any) {
  // Non-CPU patterns are analysed through their CPU copies (cached by Pattern::to), so the plan
  // lives on A's CPU copy, which A's device pattern keeps alive.
  const PatternPtr a = cpu(a_any), b = cpu(b_any);
  auto cache = a->cached<SpgemmCache>("spgemm", [] { return std::make_shared<SpgemmCache>(); });
  {
    std::lock_guard<std::mutex> g(cache->mutex);
    auto it = cache->by_b.find(b.get());
    if (it != cache->by_b.end() && it->second.b.lock() == b) return it->second.plan;
  }
  // Computed outside the lock: concurrent first products of one A with different Bs overlap
  // (two threads racing on the same pair compute it twice and keep one).
  auto plan = make_plan(*a, *b);
  std::lock_guard<std::mutex> g(cache->mutex);
  for (auto it = cache->by_b.begin(); it != cache->by_b.end();) {
    it = it->second.b.expired() ? cache->by_b.erase(it) : std::next(it);
  }
  auto& e = cache->by_b[b.get()];
  if (e.b.lock() != b) e = {b, plan};
  return e.plan;
}

namespace {

// C's pattern of a device product, cached on A's device pattern by B's (like the CPU plans).
struct DeviceSpgemmCache {
  struct Entry {
    std::weak_ptr<const Pattern> b;
    PatternPtr c;
  };
  std::mutex mutex;
  std::unordered_map<const Pattern*, Entry> by_b;
};

PatternPtr device_pattern(const PatternPtr& a, const PatternPtr& b, SpgemmSymbolicFn* symbolic) {
  auto cache = a->cached<DeviceSpgemmCache>("spgemm.device",
                                            [] { return std::make_shared<DeviceSpgemmCache>(); });
  {
    std::lock_guard<std::mutex> g(cache->mutex);
    auto it = cache->by_b.find(b.get());
    if (it != cache->by_b.end() && it->second.b.lock() == b) return it->second.c;
  }
  auto c = symbolic(*a, *b);
  if (!c) c = spgemm_plan(a, b)->c->to(a->device());  // rows wider than the device tables
  std::lock_guard<std::mutex> g(cache->mutex);
  for (auto it = cache->by_b.begin(); it != cache->by_b.end();) {
    it = it->second.b.expired() ? cache->by_b.erase(it) : std::next(it);
  }
  auto& e = cache->by_b[b.get()];
  if (e.b.lock() != b) e = {b, c};
  return e.c;
}

}  // namespace

void spgemm_forget(const PatternPtr& a, const PatternPtr& b) {
  if (a->device().is_cpu()) {
    // The plan holds C's pattern: dropped now rather than at A's next product (there may be
    // none, e.g. a level's rows counted once before its blocked Galerkin product).
    auto cache = a->cached<SpgemmCache>("spgemm", [] { return std::make_shared<SpgemmCache>(); });
    std::lock_guard<std::mutex> g(cache->mutex);
    cache->by_b.erase(b.get());
    return;
  }
  if (!spgemm_symbolic_stub.on(a->device())) return;
  auto cache = a->cached<DeviceSpgemmCache>("spgemm.device",
                                            [] { return std::make_shared<DeviceSpgemmCache>(); });
  std::lock_guard<std::mutex> g(cache->mutex);
  cache->by_b.erase(b.get());
}

at::Tensor spgemm_row_nnz(const PatternPtr& a, const PatternPtr& b) {
  if (auto* f = spgemm_row_nnz_stub.on(a->device())) {
    auto r = f(*a, *b);
    if (r.defined()) return r;
  }
  const auto& crow = spgemm_pattern(a, b)->crow();
  const int64_t n = a->rows();
  return (crow.narrow(0, 1, n) - crow.narrow(0, 0, n)).to(at::kLong);
}

PatternPtr spgemm_pattern(const PatternPtr& a, const PatternPtr& b) {
  if (auto* f = spgemm_symbolic_stub.on(a->device())) return device_pattern(a, b, f);
  auto c = spgemm_plan(a, b)->c;
  return a->device().is_cpu() ? c : c->to(a->device());
}

at::Tensor spgemm_values(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                         const at::Tensor& bv) {
  if (auto* f = spgemm_numeric_stub.on(av.device())) {
    auto c = f(*a, av, *b, bv, *spgemm_pattern(a, b));
    return c.defined() ? c : spgemm_values_reference(a, av, b, bv);
  }
  if (!av.is_cpu()) return spgemm_values_reference(a, av, b, bv);
  auto plan = spgemm_plan(a, b);
  const Pattern& c = *plan->c;
  const int64_t B = batch_of(av.size(0), bv.size(0), "spgemm");
  auto va = dense_operand(av), vb = dense_operand(bv);
  auto out = at::empty({B, c.nnz()}, va.options());
  const auto dt = c.index_dtype();
  auto ai = idx(*a, dt), bi = idx(*b, dt);
  DSLA_DISPATCH_INDEX(dt, "spgemm", [&] {
    DSLA_DISPATCH_VALUE(va.scalar_type(), "spgemm", [&] {
      kc::spgemm_numeric<scalar_t, index_t>(
          view_of<scalar_t, index_t>(a->rows(), ai, va, a->nnz()),
          view_of<scalar_t, index_t>(b->rows(), bi, vb, b->nnz()),
          kernels::CsrOut<scalar_t, index_t>{c.rows(), ptr<index_t>(c.crow()),
                                             ptr<index_t>(c.col()), ptr<scalar_t>(out), c.nnz()},
          B, kc::SpgemmRows{c.cols(), ptr<int64_t>(plan->work), plan->hash, num_threads()});
    });
  });
  return out;
}

namespace {

// S = G Hᴴ sampled on P (kernels::cpu::spgemm_sampled); G on pattern gp.
at::Tensor sampled(const Pattern& p, const Pattern& gp, const at::Tensor& g, const Pattern& h,
                   const at::Tensor& hv, const at::Tensor& work, at::ScalarType dt) {
  const int64_t B = batch_of(g.size(0), hv.size(0), "spgemm backward");
  auto gg = dense_operand(g), hh = dense_operand(hv);
  auto out = at::empty({B, p.nnz()}, gg.options());
  auto pi = idx(p, dt), gi = idx(gp, dt), hi = idx(h, dt);
  const int64_t multiplies = work[p.rows()].item<int64_t>();
  const bool hash = want_hash(p.rows(), gp.cols(), multiplies);
  DSLA_DISPATCH_INDEX(dt, "spgemm backward", [&] {
    DSLA_DISPATCH_VALUE(gg.scalar_type(), "spgemm backward", [&] {
      kc::spgemm_sampled<scalar_t, index_t>(
          view_of<scalar_t, index_t>(gp.rows(), gi, gg, gp.nnz()),
          view_of<scalar_t, index_t>(h.rows(), hi, hh, h.nnz()),
          kernels::CsrOut<scalar_t, index_t>{p.rows(), ptr<index_t>(pi.crow), ptr<index_t>(pi.col),
                                             ptr<scalar_t>(out), p.nnz()},
          B, kc::SpgemmRows{gp.cols(), ptr<int64_t>(work), hash, num_threads()});
    });
  });
  return out;
}

}  // namespace

at::Tensor spgemm_grad_a(const PatternPtr& a, const PatternPtr& b, const at::Tensor& bv,
                         const at::Tensor& gc) {
  auto plan = spgemm_plan(a, b);
  // dA(i, j) = sum_k Gc(i, k) conj(B(j, k)): the forward's own loop nest and work split.
  return sampled(*a, *plan->c, gc, *b, bv, plan->work, plan->c->index_dtype());
}

at::Tensor spgemm_grad_b(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                         const at::Tensor& gc) {
  auto plan = spgemm_plan(a, b);
  const auto& c = plan->c;
  // dBᵀ = (Gcᵀ (Aᵀ)ᴴ) sampled on Bᵀ: the gradient of Cᵀ = Bᵀ Aᵀ w.r.t. its left factor, so the
  // same row-parallel kernel serves (no scatter races), through cached transpose permutations.
  auto gct = gc.index_select(1, c->transpose_perm());
  auto avt = av.index_select(1, a->transpose_perm());
  auto bt = b->transpose();
  auto dbt = sampled(*bt, *c->transpose(), gct, *a->transpose(), avt, plan->work_t(*a, *b),
                     c->index_dtype());
  return dbt.index_select(1, bt->transpose_perm());
}

at::Tensor spgemm_values_reference(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                                   const at::Tensor& bv) {
  auto plan = spgemm_plan(a, b);
  const auto& e = plan->entries(*cpu(a), *cpu(b), av.device());
  auto prod = av.index_select(1, e.a_pos) * bv.index_select(1, e.b_pos);  // [B, multiplies]
  return at::zeros({prod.size(0), plan->c->nnz()}, prod.options()).index_add(1, e.c_pos, prod);
}

at::Tensor spgemm_grad_a_reference(const PatternPtr& a, const PatternPtr& b, const at::Tensor& bv,
                                   const at::Tensor& gc) {
  auto plan = spgemm_plan(a, b);
  const auto& e = plan->entries(*cpu(a), *cpu(b), gc.device());
  auto prod = gc.index_select(1, e.c_pos) * bv.index_select(1, e.b_pos).conj();
  return at::zeros({prod.size(0), a->nnz()}, prod.options()).index_add(1, e.a_pos, prod);
}

at::Tensor spgemm_grad_b_reference(const PatternPtr& a, const at::Tensor& av, const PatternPtr& b,
                                   const at::Tensor& gc) {
  auto plan = spgemm_plan(a, b);
  const auto& e = plan->entries(*cpu(a), *cpu(b), gc.device());
  auto prod = av.index_select(1, e.a_pos).conj() * gc.index_select(1, e.c_pos);
  return at::zeros({prod.size(0), b->nnz()}, prod.options()).index_add(1, e.b_pos, prod);
}

}  // namespace dsla::detail
