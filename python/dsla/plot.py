"""Pictures where a picture says more: spy plots (and, with the solvers, convergence histories).
matplotlib is optional: it is imported only when a plot is asked for."""


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "dsla plots need matplotlib: apt-get install python3-matplotlib "
            "(or pip install matplotlib)"
        ) from e
    return plt


def spy(A, path=None, *, markersize=None, title=None, max_points=2_000_000):
    """Spy plot of a SparseTensor's pattern; writes a PNG when ``path`` is given.

    Large matrices are drawn from a uniform sample of at most ``max_points`` entries.
    Returns the matplotlib Figure.
    """
    import torch

    plt = _pyplot()
    if A.is_batched:
        raise ValueError("dsla.spy: argument 'A': pass one matrix of the batch")
    n, m = A.shape
    row = A.row.cpu().to(torch.int64)
    col = A.col.cpu().to(torch.int64)
    if A.nnz > max_points:
        idx = torch.randperm(A.nnz)[:max_points]
        row, col = row[idx], col[idx]
    fig, ax = plt.subplots(figsize=(6, 6 * max(n, 1) / max(m, 1) if m else 6))
    ms = markersize if markersize is not None else max(0.05, min(4.0, 300.0 / max(n, m, 1)))
    ax.plot(col.numpy(), row.numpy(), "s", markersize=ms, color="#1f4e79", linestyle="none")
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_aspect("equal" if n and m else "auto")
    ax.set_title(title or f"{n} x {m}, nnz = {A.nnz}")
    ax.xaxis.tick_top()
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig
