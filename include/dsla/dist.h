// Distributed sparse matrices and solves over torch.distributed (domain decomposition).
//
// The rows of a square matrix are split over the ranks of a c10d process group: rank r owns
// `n_owned` rows, named by their global ids (`owned()`, in the rank's local order: interior rows
// first, then boundary rows, i.e. rows with an entry in a column owned elsewhere). The rank keeps
// its rows as two ordinary SparseMatrix blocks, as hypre's ParCSR and PETSc's MPIAIJ do:
//   diag  [n_owned x n_owned]  the columns it owns (local numbering = owned() order),
//   offd  [n_boundary x n_ghost] the columns owned elsewhere ("ghosts", grouped by owner),
// plus a halo plan saying which owned entries each neighbour needs. Nothing of global length
// exists on any rank (ownership is looked up through a distributed directory), except in
// gather(), which builds the whole vector on purpose.
//
// Vectors are owned slices: x[i] belongs to global row owned()[i]; shapes [n_owned],
// [n_owned, k], or with batched values [B, n_owned(, k)]. Every Krylov method of dsla runs
// unchanged on the distributed operator: its VectorSpace sums partial reductions over the ranks,
// so SolveInfo (iterations, residual, status) is global and identical on every rank.
//
// Every function here is a collective over the matrix's group unless it says "local": all ranks
// call it, in the same order. Input errors found on one rank are agreed on (Comm::agree) and
// raised on every rank, so that no rank is left waiting in a collective; a rank that dies makes
// the others fail within the group's timeout.
#pragma once

#include <dsla/amg.h>
#include <dsla/eigen.h>
#include <dsla/io.h>
#include <dsla/linear_operator.h>
#include <dsla/nonlinear.h>
#include <dsla/solve.h>
#include <dsla/sparse_matrix.h>

#include <ATen/Tensor.h>
#include <c10/util/intrusive_ptr.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace c10d {
class ProcessGroup;
class Store;
}  // namespace c10d

namespace dsla::dist {

// A communicator over a c10d process group (Gloo on CPU tensors, and on CUDA tensors through
// host staging; NCCL for CUDA tensors). Copies share the group. Every operation waits at most
// timeout(): a peer that never arrives makes it throw, never hang.
class Comm {
 public:
  Comm() = default;
  // timeout 0: the group's own timeout where it can be read (Gloo), else 30 minutes.
  explicit Comm(const c10::intrusive_ptr<c10d::ProcessGroup>& group,
                std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // A Gloo group over `store` (tests: P threads as P ranks over one c10d::HashStore).
  static Comm gloo(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                   std::chrono::milliseconds timeout = std::chrono::seconds(60));
  // From the launcher's environment: torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or
  // mpirun (OMPI_COMM_WORLD_RANK / _SIZE; MASTER_ADDR defaults to 127.0.0.1), a TCPStore (or a
  // FileStore when DSLA_DIST_STORE=file:<path>), and a Gloo group. DSLA_DIST_TIMEOUT (seconds)
  // sets the timeout (default 300).
  static Comm from_env();

  bool defined() const { return impl_ != nullptr; }
  int rank() const;
  int size() const;
  std::chrono::milliseconds timeout() const;
  std::string backend() const;  // "gloo", "nccl", ...

  // t = Σ over ranks, in place (any dtype Gloo sums: float, double, complex, int, bool as int).
  void allreduce_sum_(at::Tensor& t) const;
  void allreduce_max_(at::Tensor& t) const;
  // Every rank's t (same shape everywhere) stacked: [P, ...t.shape].
  at::Tensor allgather(const at::Tensor& t) const;
  // Every rank's t concatenated along dim 0 (sizes may differ; the rest must agree).
  at::Tensor allgatherv(const at::Tensor& t) const;
  // Rows [off_r, off_r + send_counts[r]) of `send` go to rank r; returns what every rank sent
  // here, concatenated in rank order, and its counts per rank.
  at::Tensor alltoallv(const at::Tensor& send, const std::vector<int64_t>& send_counts,
                       std::vector<int64_t>* recv_counts = nullptr) const;
  void broadcast_(at::Tensor& t, int root) const;
  void barrier() const;

  // Point to point (halo exchange): contiguous tensors; wait() before touching them.
  struct Request {
    std::shared_ptr<void> work;
    at::Tensor staged, target;  // host staging of a CUDA tensor on Gloo
  };
  Request isend(const at::Tensor& t, int dst, int tag) const;
  Request irecv(at::Tensor& t, int src, int tag) const;
  void wait(Request& r) const;

  // What this process sent through every Comm since the last reset_traffic() (benchmarks: the
  // counts behind a communication model, bench/dist_amg_projection.py). Collectives count
  // all-reduces, all-gathers and broadcasts with their payload bytes per rank; messages count
  // point-to-point sends (halo exchanges, alltoallv) with their bytes. Groups of size 1 send
  // nothing and count nothing.
  struct Traffic {
    int64_t collectives = 0, collective_bytes = 0, messages = 0, message_bytes = 0;
  };
  static Traffic traffic();
  static void reset_traffic();

  // Error agreement: every rank calls it; if `ok` is false on any rank, every rank throws a
  // ValueError with the message of the lowest failing rank (so no rank hangs in a collective
  // that a failing rank never reaches).
  void agree(bool ok, const std::string& message) const;
  // The lowest rank whose `ok` is false (-1 when none), the same on every rank.
  int first_failure(bool ok) const;
  // `message` of rank `root`, on every rank.
  std::string broadcast_message(const std::string& message, int root) const;
  // Throws on every rank unless `value` is the same on every rank ("<arg> differs across
  // ranks (min .., max ..)").
  void check_same(int64_t value, const char* arg, const char* what) const;

  struct Impl;
  const Impl* impl() const { return impl_.get(); }

 private:
  std::shared_ptr<Impl> impl_;
};

struct HaloPlan;  // src/dist/halo_plan.h

// A square sparse matrix with its rows distributed over the ranks of a Comm.
class DistMatrix {
 public:
  DistMatrix() = default;

  // This rank's entries in global coordinates: every `row` must be in `owned` (int64 global
  // ids of the rows this rank owns, unique; together the ranks' owned sets partition [0, N));
  // `col` any global column. values [nnz] or [B, nnz] (differentiable: gradients reach them
  // through diag() and offd()). Duplicates are summed. shape: the global (N, N), the same on
  // every rank. entry_pos (optional): receives, for each entry k, its position in values()
  // (int64 [nnz] on values' device; duplicates share one), so that new values for the same
  // entries go in by one scatter (index_add into zeros) instead of another from_local_coo.
  // row and col are taken by value: a caller that moves them in (std::move) lets their storage
  // go as soon as it is read, and may see it reused for the positions.
  static DistMatrix from_local_coo(const Comm& comm, at::Tensor row, at::Tensor col,
                                   const at::Tensor& values, Shape shape, const at::Tensor& owned,
                                   at::Tensor* entry_pos = nullptr);

  // A weak-scaling twin, for benchmarks on one process: the rows rank `rank` of `ranks` owns
  // in dist::generate(kind, n) over that many ranks (its box, ghost layer and halo plan, built
  // directly on `device`), with the halo exchanged with itself: what it sends to a neighbour
  // lands in the ghosts it receives from that neighbour (the bytes per exchange of the real run,
  // moved device to device). Time and memory per iteration are the real rank's without the
  // network; the ghost values are not the real ones, so gather() refuses. DistAmg takes a
  // twin: its hierarchy is the AMG of the twin's own operator (each ghost coupling lands on the
  // mirrored boundary row), with the real rank's fine-level work and halo; coarse levels have no
  // halo. kind: poisson2d, poisson3d or aniso2d (a symmetric stencil). comm: a group of one
  // process.
  static DistMatrix twin(const Comm& comm, const std::string& kind, int64_t n, int rank, int ranks,
                         at::ScalarType dtype = at::kDouble,
                         c10::Device device = c10::Device(c10::kCPU), double epsilon = 1e-2);
  bool defined() const { return plan_ != nullptr; }
  bool is_twin() const;  // a twin of ranks > 1 (a twin of one rank is the real matrix)
  const Comm& comm() const;
  int64_t rows() const;  // global N
  int64_t cols() const;
  int64_t nnz() const;  // global stored entries (summed over ranks)
  // local:
  int64_t n_owned() const;
  int64_t n_interior() const;
  int64_t n_ghost() const;
  int64_t n_neighbours() const;  // ranks this rank receives ghosts from
  int64_t local_nnz() const { return diag_.nnz() + offd_.nnz(); }
  const at::Tensor& owned() const;  // int64 [n_owned], global ids in local order
  const at::Tensor& ghost() const;  // int64 [n_ghost], global ids of the ghost columns
  const SparseMatrix& diag() const { return diag_; }
  const SparseMatrix& offd() const { return offd_; }
  at::ScalarType dtype() const { return diag_.dtype(); }
  c10::Device device() const { return diag_.device(); }
  bool is_batched() const { return diag_.is_batched(); }
  int64_t batch_size() const { return diag_.batch_size(); }
  // Local values: diag's then offd's, along the last dimension ([nnz_local] or [B, nnz_local]).
  at::Tensor values() const;
  // The same distribution and halo plan with new local values (values()'s layout).
  DistMatrix with_values(const at::Tensor& values) const;
  DistMatrix detach() const;
  // The same distribution on another device (collective: every rank calls it, with the same
  // device type; the index may differ, e.g. cuda:<local rank>). Differentiable in the values.
  DistMatrix to(c10::Device device) const;
  // The same global matrix under another row distribution: `parts` [n_owned] (integer) gives
  // the new rank of each owned row, in owned() order. One all-to-all of entries and ids, then
  // from_local_coo (a new halo plan). Values detached. Collective.
  DistMatrix redistribute(const at::Tensor& parts) const;
  // Neighbours, bytes per exchange, ghost fraction (this rank).
  std::string plan_summary() const;
  const HaloPlan& plan() const { return *plan_; }
  // Global index of this rank's first row in rank order (Σ n_owned of lower ranks).
  int64_t rank_offset() const;

  // y = A x and y = Aᴴ x on [B, n_owned, k] (written, not accumulated). apply overlaps the
  // diagonal-block product with the halo exchange; apply_adjoint multiplies locally by the
  // blocks' adjoints and sends the ghost part back to its owners, who add it.
  void apply(const at::Tensor& x3, at::Tensor& y3) const;
  void apply_adjoint(const at::Tensor& x3, at::Tensor& y3) const;
  // The ghost entries of x3: [B, n_ghost, k] (one halo exchange).
  at::Tensor halo(const at::Tensor& x3) const;
  // A x (Aᴴ x with `adjoint`) for a user-facing owned slice ([n_owned], [n_owned, k],
  // [B, n_owned(, k)]); not differentiable (python/dsla/distributed.py adds the gradients).
  at::Tensor matmul(const at::Tensor& x, bool adjoint = false) const;
  // g[q] = gy[row q] · conj(x[col q]) in values()'s layout, [B, nnz_local] from gy3, x3
  // [B, n_owned, k] (summed over k): the values gradient of y = A x, and, negated, of a solve.
  // One halo exchange of x. `differentiable` records ATen ops (double backward).
  at::Tensor values_grad(const at::Tensor& gy3, const at::Tensor& x3,
                         bool differentiable = false) const;
  // The whole vector on every rank ([N] or [N, k], rows in global order) from owned slices.
  at::Tensor gather(const at::Tensor& x) const;
  // The whole matrix on every rank (tests, small N).
  SparseMatrix gather_matrix() const;
  // The operator Krylov methods see (rows() = n_owned; its space all-reduces).
  LinearOperatorPtr make_operator() const;

 private:
  std::shared_ptr<const HaloPlan> plan_;
  SparseMatrix diag_, offd_;
};

// Partitions (part ids, not global arrays, except for partitions of a matrix that is global
// already).
// Contiguous blocks of rows: rank r owns [N r / P, N (r+1) / P) (balanced within one row).
std::pair<int64_t, int64_t> contiguous_range(int64_t n, int rank, int size);
// METIS k-way part ids [N] of a (global) matrix's graph (pattern symmetrized, diagonal
// dropped); throws NotImplementedError when this build has no METIS.
// vertex_weights: positive integers [N] (e.g. the rows a coarse vertex stands for) whose sums
// METIS balances; undefined: every row weighs one.
at::Tensor metis_parts(const SparseMatrix& A, int parts, const at::Tensor& vertex_weights = {});
bool metis_available();
// Coordinate partitions of N points (a mesh's nodes or cell centres, one per row): coords
// [N, d] (or [N]), 1 <= d <= 64, real or integer, finite; part ids [N] int64 on the CPU, each
// part holding floor(N / parts) or ceil(N / parts) points, deterministic (ties by index).
// Recursive coordinate bisection: cuts perpendicular to the longest side of the bounding box.
at::Tensor rcb_parts(const at::Tensor& coords, int64_t parts);
// Points sorted along a Hilbert curve over their bounding cube, cut into consecutive runs.
at::Tensor hilbert_parts(const at::Tensor& coords, int64_t parts);
// The points' order along that Hilbert curve ([N] int64: position -> point), e.g. to renumber
// unknowns for locality.
at::Tensor hilbert_order(const at::Tensor& coords);

// This rank's rows of a structured generator ("poisson2d", "poisson3d", "aniso2d") of side n,
// partitioned in boxes over a near-cubic process grid; rows are global lexicographic ids.
// Returns the rank's matrix; only its box is ever built.
DistMatrix generate(const Comm& comm, const std::string& kind, int64_t n, double epsilon = 1e-2,
                    at::ScalarType dtype = at::kDouble);

// Reads a square Matrix Market file (plain or gzip-compressed, as dsla::read_mtx) into contiguous
// row blocks: rank r owns rows contiguous_range(N, r, P). The matrix, its dtype (`dtype` as for
// read_mtx) and its errors are read_mtx's: the gathered matrix equals read_mtx(path, dtype), and
// a malformed file raises read_mtx's ValueError (file, line, what was expected) on every rank.
// A plain coordinate file is read in parallel: rank r parses the lines that start in its share
// of the entry section's bytes and sends each entry (symmetric storage mirrored first) to the
// rank owning its row. A compressed or array file is parsed by rank 0 alone, a piece at a time,
// each piece sent to its owners before the next: rank 0 holds one piece, never the file. `info`
// (optional) receives the header. Collective; the file must be readable by every rank (rank 0
// only for a compressed or array file).
DistMatrix read_mtx(const Comm& comm, const std::string& path, at::ScalarType dtype = at::kDouble,
                    MtxInfo* info = nullptr);

// A solve prepared once for a distributed matrix: Krylov methods (CG, BiCGStab, GMRES,
// FGMRES, MINRES, LSQR, LSMR) with preconditioners "none", "jacobi", "auto" (Jacobi where the
// diagonal allows it), "amg" (DistAmg with default options; a built one as SolveOptions::M =
// DistAmg::as_operator()), "chebyshev", "ras[:<local kind>]" and "block_jacobi[:<local kind>]" (any
// local dsla preconditioner — ilu0, ic0, ssor, amg, ... — on each rank's diagonal block, no
// communication; plain "block_jacobi" is ilu0). Direct methods are refused (NotImplementedError).
class DistSolver {
 public:
  DistSolver() = default;
  DistSolver(const DistMatrix& A, const SolveOptions& opt = {});
  bool defined() const { return impl_ != nullptr; }
  // x3 [B, n_owned, k] = A⁻¹ b3 (A⁻ᴴ with `adjoint`); not differentiable.
  at::Tensor solve3(const at::Tensor& b3, bool adjoint, SolveInfo* info,
                    bool force_warn = false) const;
  const DistMatrix& matrix() const;  // values as given (may require grad)
  Method method() const;
  std::string preconditioner() const;
  double setup_time() const;
  // New local values (values()'s layout, same pattern): redoes only the numeric setup (the
  // halo plan and the preconditioner's analysis are kept). Collective.
  void refactor(const at::Tensor& values);
  // Bumped by refactor(): backward refuses values other than its forward's.
  int64_t version() const;
  // The same solver whose matrix() values are detached (what autograd nodes keep).
  DistSolver detached() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
  DistMatrix A_;
};

// Differentiable distributed solve (values of A and b): x has b's shape. Backward is one
// adjoint distributed solve (a collective: every rank must call backward, e.g. on a loss made
// global with an all-reduce).
at::Tensor solve(const DistMatrix& A, const at::Tensor& b, const SolveOptions& opt = {},
                 SolveInfo* info = nullptr);
// With a prepared DistSolver (x = A⁻¹ b, or A⁻ᴴ b with `adjoint`): differentiable in
// solver.matrix().values() and b.
at::Tensor solve(const DistSolver& solver, const at::Tensor& b, SolveInfo* info = nullptr,
                 bool adjoint = false);

// Nonlinear solves over the ranks: options for dsla::nonlinear_solve (and its differentiable
// form) where u and F(u) are this rank's owned slices in `like`'s distribution. Every norm and
// Gram matrix of the iterations goes through the distributed space, so every rank takes the same
// steps; F is the caller's (it may call A.matmul / A.halo, collectives, on every rank alike).
// With `jacobian` (a DistMatrix at u, same distribution), Newton's linear steps and the implicit
// adjoint run through a DistSolver (opt.linear), refactored while the pattern is the same (built
// with with_values from one matrix), GMRES once CG fails under method Auto. Without it: JFNK
// (GMRES on finite-difference products over the distributed space).
using DistJacobianFn = std::function<DistMatrix(const at::Tensor& u)>;
NonlinearOptions nonlinear_options(const DistMatrix& like, NonlinearOptions opt = {},
                                   const DistJacobianFn& jacobian = {});

// Smoothed-aggregation AMG of a distributed matrix (DESIGN-distributed 6.6.3). While a level is
// large, it stays distributed: aggregates inside each rank's diagonal block (so the coarse rows
// of an aggregate are its rank's), the tentative and Jacobi-smoothed prolongator P with its own
// halo plan over the coarse distribution, the Galerkin operator Pᵀ A P from local sparse products
// with the rows of P behind A's ghost columns fetched once, and the coarse rows other ranks
// computed sent to their owners and summed. Once the global coarse size is at most
// opt.gather_size (or coarsening stalls, or opt.max_levels is reached), the level is gathered
// to every rank and the one-device hierarchy (amg::AmgHierarchy) is built on it, replicated:
// below that, cycles need one all-gather of the restricted residual and no other message.
// The cycle is the one of src/solve/amg (a distributed level is one more kind of cycle level).
// Distributed levels smooth with Chebyshev (symmetric A; its spectral estimate is collective)
// or l1-Jacobi ("auto": Chebyshev when A is symmetric, else l1-Jacobi); mc_sgs / dilu are
// refused there. opt.near_nullspace: this rank's owned rows [n_owned, m]. Real values (float32,
// float64), batched values as one process's AMG. Every call is a collective.
class DistAmg : public std::enable_shared_from_this<DistAmg> {
 public:
  static std::shared_ptr<DistAmg> build(const DistMatrix& A, const amg::AmgOptions& opt = {});
  // New values on the same distributed pattern: values and value exchanges only (the
  // aggregates, prolongator patterns, fetched ghost-row structures and halo plans are kept).
  void update(const DistMatrix& A);
  // x3 <- one cycle for A x = b (zero_guess: x3 is not read, it is rebound); [B', n_owned, k].
  void cycle(const at::Tensor& b3, at::Tensor& x3, bool zero_guess) const;
  // z = M⁻¹ r: one cycle from zero. r3 [B', n_owned, k].
  at::Tensor apply(const at::Tensor& r3) const;
  // M⁻¹ on owned slices as an operator (SolveOptions::M of a DistSolver; its apply is a
  // collective, every rank calls it in step).
  LinearOperatorPtr as_operator() const;

  int64_t num_levels() const;              // distributed levels + the replicated hierarchy's
  int64_t num_distributed_levels() const;  // levels with a distributed prolongator
  // Level l < num_distributed_levels() + 1 as a distributed matrix (the last one is the level
  // that was gathered).
  DistMatrix level_matrix(int64_t l) const;
  // The transfers of distributed level l: P xc (xc3 [B', n_owned of level l + 1, k]) and Pᵀ r.
  at::Tensor prolong(int64_t l, const at::Tensor& xc3) const;
  at::Tensor restrict_to_coarse(int64_t l, const at::Tensor& r3) const;
  // The replicated hierarchy of the gathered level (identical on every rank).
  const amg::AmgHierarchy& coarse() const;
  // Levels (global rows, nnz, aggregates: distributed ones first), complexities, setup times
  // (this rank's wall clock), coarse solver.
  const amg::AmgStats& stats() const;
  const amg::AmgOptions& options() const;
  bool is_symmetric() const;  // symmetric A and a symmetric cycle
  const DistMatrix& matrix() const;

  struct Impl;
  explicit DistAmg(std::unique_ptr<Impl> impl);
  ~DistAmg();

 private:
  std::unique_ptr<Impl> impl_;
};

// The k smallest (opt.which "SA", the default) or largest ("LA") eigenpairs of a Hermitian
// distributed matrix: LOBPCG over the distributed space (every Gram matrix an all-reduce, the
// random start block drawn by global offset), preconditioner opt.precond "auto" (Jacobi when every
// owned diagonal entry is positive), "jacobi", "amg" (one DistAmg cycle; with a shift, the inner
// solves of a definite A − σI use it) or "none". Returns the eigenvalues [k] ascending,
// the same on every rank, and this rank's rows of the eigenvectors [n_owned, k] (orthonormal
// over all ranks; each column's sign is arbitrary). opt.X0: this rank's rows [n_owned, >= k].
// Not differentiable here (python/dsla/distributed.py attaches ∂λ/∂values = u[row] conj(u[col])).
// Collective; an argument error on one rank raises on every rank. "SM" (σ = 0), "LM" and opt.sigma
// run shift-invert LOBPCG (eigen::shift_invert) with a distributed inner solve (opt.solver).
std::tuple<at::Tensor, at::Tensor> eigsh(const DistMatrix& A, int64_t k,
                                         const EigenOptions& opt = {}, EigenInfo* info = nullptr);

}  // namespace dsla::dist
