"""UV seams: where one surface edge appears twice in the texture atlas, and how to keep both copies equal.

A mesh edge whose two faces give it different UVs is a seam: the renderer reads the texture on one side
from one UV island and on the other side from another, so any difference between the two copies shows as a
line on the surface. Two tools keep them equal:
  - `island_fill_index`: texels outside every island copy their nearest island texel (dilation), so
    bilinear lookups at an island's border never blend in texels that no face owns;
  - `SeamSamples` + `seam_loss`: points along every seam edge, located in both islands, and the squared
    difference of a UV map between the two locations (a penalty during stylization).
`face_adjacency` also classifies neighbouring faces (seam or not), for the render-space seam metric.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from alteredavatar.raster import rasterize_uv, sample_texture

UV_EPS = 1e-6  # UVs closer than this count as the same point


def shared_edges(faces: np.ndarray, weld: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surface edges shared by two faces, seen from each face.

    Args:
        faces: (F, 3); weld: (V,) position-unique vertex ids.
    Returns:
        ends_a, ends_b (P, 2) vertex ids of the edge in the first and the second face (the end with the lower
        welded id first in both) and pair (P, 2) the two face indices.
    """
    corners = np.stack([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]], 1).reshape(-1, 2)
    w = weld[corners]
    order = np.argsort(w, 1)
    w, corners = np.take_along_axis(w, order, 1), np.take_along_axis(corners, order, 1)
    face = np.repeat(np.arange(len(faces)), 3)
    rows = np.lexsort((w[:, 1], w[:, 0]))
    w, corners, face = w[rows], corners[rows], face[rows]
    i = np.nonzero((w[1:] == w[:-1]).all(1))[0]  # consecutive rows on the same surface edge
    return corners[i], corners[i + 1], np.stack([face[i], face[i + 1]], 1)


def is_seam(uvs: np.ndarray, ends_a: np.ndarray, ends_b: np.ndarray) -> np.ndarray:
    """(P,) bool: the two faces give the shared edge different UVs."""
    return np.abs(uvs[ends_a] - uvs[ends_b]).max((1, 2)) > UV_EPS


def face_adjacency(faces: np.ndarray, uvs: np.ndarray, weld: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of faces sharing a surface edge (P, 2), lower index first, and (P,) whether it is a UV seam."""
    ends_a, ends_b, pair = shared_edges(faces, weld)
    return np.sort(pair, 1), is_seam(uvs, ends_a, ends_b)


@dataclass
class SeamSamples:
    """Points on the seam edges, each located in both UV islands: uv_a, uv_b (S, 2) in [0, 1], v up."""

    uv_a: torch.Tensor
    uv_b: torch.Tensor

    @classmethod
    def from_mesh(
        cls, faces: torch.Tensor, uvs: torch.Tensor, weld: torch.Tensor, per_edge: int = 4
    ) -> SeamSamples:
        """`per_edge` evenly spaced points on every seam edge (edge ends excluded)."""
        uv = uvs.detach().cpu().numpy().astype(np.float64)
        ends_a, ends_b, _ = shared_edges(faces.cpu().numpy(), weld.cpu().numpy())
        seam = is_seam(uv, ends_a, ends_b)
        a, b = uv[ends_a[seam]], uv[ends_b[seam]]  # (S, 2 ends, 2)
        t = (np.arange(per_edge) + 0.5) / per_edge
        lerp = lambda e: (e[:, None, 0] + t[None, :, None] * (e[:, None, 1] - e[:, None, 0])).reshape(-1, 2)  # noqa: E731
        return cls(torch.from_numpy(lerp(a)).to(uvs), torch.from_numpy(lerp(b)).to(uvs))

    def __len__(self) -> int:
        return self.uv_a.shape[0]

    def to(self, device: torch.device | str) -> SeamSamples:
        return SeamSamples(self.uv_a.to(device), self.uv_b.to(device))


def sample_uv(maps: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup of (B, C, R, R) UV maps (row 0 is v = 1) at (S, 2) UVs -> (B, C, S), as the renderer
    reads textures."""
    grid = uv.to(maps.dtype)[None, None].expand(maps.shape[0], -1, -1, -1)  # (B, 1, S, 2)
    return sample_texture(maps, grid)[:, 0].transpose(1, 2)


def seam_loss(maps: torch.Tensor, seams: SeamSamples) -> torch.Tensor:
    """Mean squared difference of (B, C, R, R) UV maps between the two sides of every seam point -> scalar."""
    if len(seams) == 0:
        return maps.new_zeros(())
    return ((sample_uv(maps, seams.uv_a) - sample_uv(maps, seams.uv_b)) ** 2).mean()


def island_fill_index(coverage: torch.Tensor) -> torch.Tensor:
    """For each texel of an (R, R) coverage mask, the flat index of the nearest covered texel (itself if
    covered) -> (R * R,) int64. Gathering a map with it dilates every island into the empty atlas space."""
    covered = coverage.detach().cpu().numpy() > 0.5
    if not covered.any():
        return torch.arange(covered.size, device=coverage.device)
    _, (rows, cols) = ndimage.distance_transform_edt(~covered, return_indices=True)
    return torch.from_numpy(rows * covered.shape[1] + cols).reshape(-1).to(coverage.device)


def fill_islands(maps: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(B, C, R, R) maps with every texel outside the islands replaced by its nearest island texel."""
    b, c, h, w = maps.shape
    return maps.reshape(b, c, h * w)[:, :, index].reshape(b, c, h, w)


def uv_islands(faces: np.ndarray, n_verts: int) -> np.ndarray:
    """(V,) UV island id of every vertex: faces that share a (UV-split, unwelded) vertex share an island."""
    rows = np.repeat(faces[:, 0], 2)
    cols = faces[:, 1:].reshape(-1)
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_verts, n_verts))
    return connected_components(graph, directed=False)[1]


@dataclass
class SeamStitch:
    """Blends every UV map towards agreement across seams: the texels within `band` texels of a seam edge
    move towards the mean of the two islands' copies, fully at the edge and fading to nothing at `band`.

    Both copies of a seam then read the same colour, so no line shows even where the source texture
    itself disagrees across the cut (region masks painted per island, an identity's own albedo). It is a
    fixed linear map of the texture, so gradients flow through it. Hand-written: seam blending is a texture
    painting tool's job, and no installable library does it on torch tensors.

    index (N,) flat texel ids of the band; uv_own, uv_other (N, 2) the nearest seam point in the texel's own
    island and its copy in the other; weight (N,) in [0, 1].
    """

    index: torch.Tensor
    uv_own: torch.Tensor
    uv_other: torch.Tensor
    weight: torch.Tensor

    @classmethod
    def from_mesh(
        cls, faces: torch.Tensor, uvs: torch.Tensor, weld: torch.Tensor, res: int, band: float = 4.0
    ) -> SeamStitch:
        """Precompute the band of an (R = `res`) atlas: `band` in texels (at least 2)."""
        f, uv = faces.cpu().numpy(), uvs.detach().cpu().numpy().astype(np.float64)
        ends_a, ends_b, _ = shared_edges(f, weld.cpu().numpy())
        seam = is_seam(uv, ends_a, ends_b)
        ends_a, ends_b = ends_a[seam], ends_b[seam]
        own = np.concatenate([ends_a, ends_b])  # each seam edge seen from both of its islands
        other = np.concatenate([ends_b, ends_a])
        island = uv_islands(f, len(uv))
        if len(own) == 0:
            return cls.empty(uvs)
        ids, covered = rasterize_uv(
            uvs.detach().cpu().double(), faces.cpu(), torch.from_numpy(island[:, None] + 1.0), res
        )
        texel_island = np.where(covered[0].numpy() > 0.5, np.rint(ids[0].numpy()) - 1, -1).reshape(-1)
        band = max(float(band), 2.0)
        p0, p1 = uv[own[:, 0]] * res, uv[own[:, 1]] * res  # (E, 2) in texels, u right and v up
        p0[:, 1], p1[:, 1] = res - p0[:, 1], res - p1[:, 1]  # (column, row) like the atlas
        seg = p1 - p0
        length2 = np.maximum((seg**2).sum(-1), 1e-12)
        best = np.full(res * res, np.inf)
        best_edge = np.zeros(res * res, np.int64)
        best_t = np.zeros(res * res)
        lo = np.clip(np.floor(np.minimum(p0, p1) - band), 0, res - 1).astype(int)
        hi = np.clip(np.ceil(np.maximum(p0, p1) + band), 0, res - 1).astype(int)
        for e in range(len(own)):  # only the texels in each edge's box, grown by the band
            cols, rows = np.meshgrid(np.arange(lo[e, 0], hi[e, 0] + 1), np.arange(lo[e, 1], hi[e, 1] + 1))
            flat = (rows * res + cols).reshape(-1)
            centres = np.stack([cols.reshape(-1), rows.reshape(-1)], -1) + 0.5
            t = np.clip(((centres - p0[e]) @ seg[e]) / length2[e], 0, 1)
            dist = np.linalg.norm(centres - (p0[e] + t[:, None] * seg[e]), axis=-1)
            dist[texel_island[flat] != island[own[e, 0]]] = np.inf
            closer = dist < best[flat]
            best[flat[closer]], best_edge[flat[closer]], best_t[flat[closer]] = dist[closer], e, t[closer]
        keep = np.nonzero(best < band)[0]
        e, t = best_edge[keep], best_t[keep][:, None]
        lerp = lambda ends: uv[ends[e, 0]] + t * (uv[ends[e, 1]] - uv[ends[e, 0]])  # noqa: E731
        # fully within the bilinear footprint of the edge (texel centres up to 1.5 away), then fading out
        weight = np.clip((band - best[keep]) / (band - 1.5), 0, 1)
        to = lambda a: torch.from_numpy(a).to(device=uvs.device, dtype=uvs.dtype)  # noqa: E731
        return cls(torch.from_numpy(keep).to(uvs.device), to(lerp(own)), to(lerp(other)), to(weight))

    @classmethod
    def empty(cls, like: torch.Tensor) -> SeamStitch:
        """A stitch that changes nothing (a mesh without seams; or to see the seams, in a benchmark)."""
        none = like.new_zeros(0)
        return cls(
            torch.zeros(0, dtype=torch.long, device=like.device),
            none[:, None].expand(0, 2),
            none[:, None].expand(0, 2),
            none,
        )

    def __len__(self) -> int:
        return self.index.shape[0]

    def to(self, device: torch.device | str) -> SeamStitch:
        return SeamStitch(*(x.to(device) for x in (self.index, self.uv_own, self.uv_other, self.weight)))

    def __call__(self, maps: torch.Tensor) -> torch.Tensor:
        """(B, C, R, R) -> the same maps with every seam band moved towards the two copies' mean."""
        if len(self) == 0:
            return maps
        b, c, h, w = maps.shape
        half_gap = 0.5 * (sample_uv(maps, self.uv_other) - sample_uv(maps, self.uv_own))  # (B, C, N)
        flat = maps.reshape(b, c, h * w)
        return flat.index_add(2, self.index, half_gap * self.weight.to(maps.dtype)).reshape(b, c, h, w)
