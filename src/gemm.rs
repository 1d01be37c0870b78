//! f32 matrix multiplication for the WebAssembly build: `C = A · Bᵀ (+ bias)`, the shape of every
//! linear layer (`y = x Wᵀ + b`, W stored `[out, in]` as PyTorch does) and of attention's `Q Kᵀ`.
//!
//! BLIS-style: B is packed once into `KC × NR` micro-panels (weights at load time, K or V per call),
//! A is packed per `KC` block into `MR`-row micro-panels, and a `MR × NR` register-blocked micro-kernel
//! does the multiply-adds — SIMD128 `f32x4` with `relaxed_madd` when the module is built with
//! relaxed SIMD (`+relaxed-simd`), else a separate multiply and add. On other targets a portable
//! kernel with the same blocking runs (tests check the blocking and edge handling natively; the
//! browser tests check the SIMD kernels).
//!
//! Work is split over column panels; with the `threads` feature the panels run on rayon's pool. Each
//! group of panels also applies the epilogue to its own columns. C may be uninitialised memory ([`MaybeUninit`]): every value of the m × n block is
//! written before it is read.

use std::mem::MaybeUninit;

/// Rows of A per micro-kernel call.
pub const MR: usize = 3;
/// Columns of B per micro-kernel call (two `f32x4`).
pub const NR: usize = 12;
/// Depth of one packed block: a `KC × NR` B micro-panel (8 KiB) and a `KC × MR` A micro-panel (6 KiB)
/// sit in L1 together.
pub const KC: usize = 256;

/// B (n × k, row-major, "out × in") packed for the micro-kernel: for each KC block of k, for each
/// NR-wide column panel, KC rows of NR values (zero-padded past n). The values are f32, or f16 bits
/// (weights held in half precision), widened a micro-panel at a time as the product runs.
#[derive(Debug, Clone)]
pub struct PackedB {
    n: usize,
    k: usize,
    data: Panels,
}

#[derive(Debug, Clone)]
enum Panels {
    F32(Vec<f32>),
    F16(Vec<u16>),
}

impl PackedB {
    /// Packs B given as n rows of k values (a weight matrix `[out, in]`).
    pub fn from_rows(b: &[f32], n: usize, k: usize) -> Self {
        Self::from_strided_rows(b, k, n, k)
    }

    /// Packs B given as n rows of k f16 values (their bits), keeping them in f16.
    pub fn from_rows_f16(b: &[u16], n: usize, k: usize) -> Self {
        PackedB {
            n,
            k,
            data: Panels::F16(pack_rows(b, k, n, k)),
        }
    }

    /// Packs B given as k rows of n values (V in `P V`: its transpose is what `A · Bᵀ` needs).
    pub fn from_columns(b: &[f32], n: usize, k: usize) -> Self {
        Self::from_strided_columns(b, n, n, k)
    }

    /// Packs B given as n rows of k values, row i starting at `b[i·ld]` (K in `Q Kᵀ`: one head's
    /// columns of a wider matrix).
    pub fn from_strided_rows(b: &[f32], ld: usize, n: usize, k: usize) -> Self {
        PackedB {
            n,
            k,
            data: Panels::F32(pack_rows(b, ld, n, k)),
        }
    }

    /// Packs B given as k rows of n values (B's transpose), row p starting at `b[p·ld]` (V in `P V`:
    /// one head's columns of a wider matrix).
    pub fn from_strided_columns(b: &[f32], ld: usize, n: usize, k: usize) -> Self {
        let mut data = vec![0f32; n.div_ceil(NR) * NR * k];
        for_each_block(n, k, &mut data, |block, k0, kc, first| {
            let cols = NR.min(n - first);
            for p in 0..kc {
                block[p * NR..][..cols].copy_from_slice(&b[(k0 + p) * ld + first..][..cols]);
            }
        });
        PackedB {
            n,
            k,
            data: Panels::F32(data),
        }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn k(&self) -> usize {
        self.k
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match &self.data {
            Panels::F32(d) => 4 * d.len(),
            Panels::F16(d) => 2 * d.len(),
        }
    }

    /// The f32 micro-panel for k block starting at `k0` (depth `kc`) and column panel `panel`: in
    /// place, or widened into `scratch` (KC·NR values) when held in f16.
    fn panel<'s>(
        &'s self,
        k0: usize,
        kc: usize,
        panel: usize,
        scratch: &'s mut [f32],
    ) -> &'s [f32] {
        let start = k0 * self.n.div_ceil(NR) * NR + panel * kc * NR;
        match &self.data {
            Panels::F32(d) => &d[start..start + kc * NR],
            Panels::F16(d) => {
                let out = &mut scratch[..kc * NR];
                crate::simd::f16_to_f32(&d[start..start + kc * NR], out);
                out
            }
        }
    }
}

/// Calls `fill(block, k0, kc, first_row)` for each KC × NR micro-panel of a packed n × k matrix, in
/// storage order: `block` holds `kc` rows of NR values for B rows `first_row..` (zeros past n).
fn for_each_block<T>(
    n: usize,
    k: usize,
    data: &mut [T],
    mut fill: impl FnMut(&mut [T], usize, usize, usize),
) {
    let mut offset = 0;
    for k0 in (0..k).step_by(KC) {
        let kc = KC.min(k - k0);
        for panel in 0..n.div_ceil(NR) {
            fill(&mut data[offset..offset + kc * NR], k0, kc, panel * NR);
            offset += kc * NR;
        }
    }
}

/// The packed layout of n rows of k values (f32, or f16 bits), row i starting at `b[i·ld]`.
fn pack_rows<T: Copy + Default>(b: &[T], ld: usize, n: usize, k: usize) -> Vec<T> {
    let mut data = vec![T::default(); n.div_ceil(NR) * NR * k];
    for_each_block(n, k, &mut data, |block, k0, kc, first| {
        for j in 0..NR.min(n - first) {
            let src = &b[(first + j) * ld + k0..][..kc];
            for (p, &v) in src.iter().enumerate() {
                block[p * NR + j] = v;
            }
        }
    });
    data
}

/// `C (m × n) = A (m × k) · Bᵀ + bias`, A and C row-major and contiguous.
pub fn matmul(a: &[f32], m: usize, b: &PackedB, bias: Option<&[f32]>, c: &mut [f32]) {
    product(a, b.k, m, b, bias, Epilogue::None, as_uninit(c), b.n)
}

/// What is applied to C's values once they are complete, while they are still in cache (and on the
/// thread that computed them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epilogue {
    None,
    /// `gelu_pytorch_tanh`, [`crate::simd::gelu_inplace`].
    GeluTanh,
}

/// `epilogue(A · Bᵀ + bias)` as a new m × n row-major buffer (never zeroed first: the product
/// writes every value).
pub fn matmul_owned(
    a: &[f32],
    m: usize,
    b: &PackedB,
    bias: Option<&[f32]>,
    epilogue: Epilogue,
) -> Vec<f32> {
    let mut c = uninit(m * b.n);
    product(a, b.k, m, b, bias, epilogue, &mut c, b.n);
    // SAFETY: `product` initialised all m·n values.
    unsafe { assume_init(c) }
}

/// `C = A · Bᵀ + bias` where row i of A starts at `a[i·lda]` and row i of C at `c[i·ldc]`: a head's
/// slice of a `(n, heads·head_dim)` matrix is read and written in place, without a transpose. The
/// m × n values of C are written (initialised if they were not); the gaps between rows are left alone.
pub fn matmul_strided(
    a: &[f32],
    lda: usize,
    m: usize,
    b: &PackedB,
    bias: Option<&[f32]>,
    c: &mut [MaybeUninit<f32>],
    ldc: usize,
) {
    product(a, lda, m, b, bias, Epilogue::None, c, ldc)
}

/// An f32 buffer as one the product may write (it only ever stores valid floats into it; not public:
/// a caller could store `MaybeUninit::uninit()` through it).
fn as_uninit(c: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: same layout; writing initialised f32s through the result keeps `c` initialised.
    unsafe { &mut *(c as *mut [f32] as *mut [MaybeUninit<f32>]) }
}

/// `len` floats of uninitialised memory.
pub(crate) fn uninit(len: usize) -> Vec<MaybeUninit<f32>> {
    let mut v = Vec::with_capacity(len);
    // SAFETY: MaybeUninit needs no initialisation.
    unsafe { v.set_len(len) };
    v
}

/// The floats, once all have been written.
///
/// # Safety
/// Every element must have been initialised.
pub(crate) unsafe fn assume_init(v: Vec<MaybeUninit<f32>>) -> Vec<f32> {
    let mut v = std::mem::ManuallyDrop::new(v);
    Vec::from_raw_parts(v.as_mut_ptr() as *mut f32, v.len(), v.capacity())
}

#[allow(clippy::too_many_arguments)]
fn product(
    a: &[f32],
    lda: usize,
    m: usize,
    b: &PackedB,
    bias: Option<&[f32]>,
    epilogue: Epilogue,
    c: &mut [MaybeUninit<f32>],
    ldc: usize,
) {
    let (n, k) = (b.n, b.k);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        lda >= k && ldc >= n && a.len() >= (m - 1) * lda + k && c.len() >= (m - 1) * ldc + n,
        "matmul: buffers too small"
    );
    assert!(
        bias.is_none_or(|bias| bias.len() == n),
        "matmul: bias length"
    );
    let parallel = m * n * k >= PARALLEL_MIN_MACS;
    for i in 0..m {
        let row = &mut c[i * ldc..][..n];
        match bias {
            Some(bias) => {
                for (c, &b) in row.iter_mut().zip(bias) {
                    c.write(b);
                }
            }
            None => row.fill(MaybeUninit::new(0.0)),
        }
    }
    // A is packed once for every k block; then each group of column panels runs through all k
    // blocks, so one parallel region covers the whole product (waking the pool per k block cost more
    // than it saved) while each core still keeps one k block of A in its own cache.
    let m_panels = m.div_ceil(MR);
    let mut packed_a = vec![0f32; m_panels * MR * k];
    // (Packing in parallel too cost more, in a second wake-up of the pool, than it saved.)
    for (i, block) in packed_a.chunks_mut(m_panels * MR * KC).enumerate() {
        pack_a(a, lda, m, i * KC, block.len() / (m_panels * MR), block);
    }
    let panels = n.div_ceil(NR);
    // Within a group, columns go in chunks whose block of C (m rows) stays in L2 beside A's k block,
    // so the k blocks after the first add into C from L2 rather than from L3 or memory.
    let chunk_panels = (C_BLOCK_BYTES / (m * NR * 4)).max(1);
    for_each_group(panels, c, parallel, |group, c| {
        let mut scratch = [0f32; KC * NR];
        for first in group.clone().step_by(chunk_panels) {
            let chunk = first..(first + chunk_panels).min(group.end);
            for k0 in (0..k).step_by(KC) {
                let kc = KC.min(k - k0);
                let a_block = &packed_a[m_panels * MR * k0..][..m_panels * MR * kc];
                for panel in chunk.clone() {
                    let b_panel = b.panel(k0, kc, panel, &mut scratch);
                    let cols = NR.min(n - panel * NR);
                    for mp in 0..m_panels {
                        let rows = MR.min(m - mp * MR);
                        let a_panel = &a_block[mp * MR * kc..][..MR * kc];
                        // SAFETY: the panels hold kc·MR and kc·NR values; C rows mp·MR.. +rows,
                        // columns panel·NR.. +cols lie inside the m × n buffer, initialised above.
                        unsafe {
                            kernel(
                                kc,
                                a_panel.as_ptr(),
                                b_panel.as_ptr(),
                                c.add(mp * MR * ldc + panel * NR),
                                ldc,
                                rows,
                                cols,
                            )
                        };
                    }
                }
            }
            if epilogue == Epilogue::GeluTanh {
                let cols = chunk.start * NR..(chunk.end * NR).min(n);
                for i in 0..m {
                    // SAFETY: this group alone wrote these columns of C, and is done with them.
                    let row = unsafe {
                        std::slice::from_raw_parts_mut(c.add(i * ldc + cols.start), cols.len())
                    };
                    crate::simd::gelu_inplace(row);
                }
            }
        }
    });
}

/// The block of C one chunk of column panels fills (m rows), well inside L2 beside A's k block.
/// (40 KiB to 512 KiB measured the same within 1 %; without chunks, 1–3 % slower at 196 × 768 × 3072.)
const C_BLOCK_BYTES: usize = 128 << 10;

/// A pointer that may cross to the worker threads: each thread writes a disjoint set of columns.
#[derive(Clone, Copy)]
struct SharedC(*mut f32);
unsafe impl Send for SharedC {}
unsafe impl Sync for SharedC {}

impl SharedC {
    fn add(self, offset: usize) -> *mut f32 {
        // SAFETY: callers stay inside the buffer this pointer was made from.
        unsafe { self.0.add(offset) }
    }
}

/// Products smaller than this many multiply-adds run on the calling thread: one attention head's
/// `q kᵀ` (196 × 196 × 64 ≈ 2.5 M) is cheaper than waking the pool; callers parallelise over heads.
pub const PARALLEL_MIN_MACS: usize = 8 << 20;

/// Runs `work` on contiguous groups of column panels: all of them on this thread, or, with the
/// `threads` feature and `parallel`, a few groups per pool thread.
fn for_each_group(
    panels: usize,
    c: &mut [MaybeUninit<f32>],
    parallel: bool,
    work: impl Fn(std::ops::Range<usize>, SharedC) + Sync + Send,
) {
    let shared = SharedC(c.as_mut_ptr() as *mut f32);
    #[cfg(feature = "threads")]
    if parallel {
        use rayon::prelude::*;
        let groups = (rayon::current_num_threads() * 4).min(panels).max(1);
        (0..groups)
            .into_par_iter()
            .for_each(|g| work(g * panels / groups..(g + 1) * panels / groups, shared));
        return;
    }
    let _ = parallel;
    work(0..panels, shared);
}

/// Packs rows of A, columns k0..k0+kc, into MR-row micro-panels: panel[p][r] = A[mp·MR + r][k0 + p].
fn pack_a(a: &[f32], lda: usize, m: usize, k0: usize, kc: usize, out: &mut [f32]) {
    for mp in 0..m.div_ceil(MR) {
        let panel = &mut out[mp * MR * kc..][..MR * kc];
        for r in 0..MR {
            let row = mp * MR + r;
            if row < m {
                let src = &a[row * lda + k0..][..kc];
                for (p, &v) in src.iter().enumerate() {
                    panel[p * MR + r] = v;
                }
            } else {
                (0..kc).for_each(|p| panel[p * MR + r] = 0.0);
            }
        }
    }
}

/// Adds the MR × NR product of an A micro-panel and a B micro-panel into C (only `rows` × `cols`
/// of it are stored).
///
/// # Safety
/// `a` holds `kc·MR` values, `b` holds `kc·NR`, and `c` points at a tile with `rows ≤ MR` rows and
/// `cols ≤ NR` columns inside a row-major buffer of row stride `ldc`.
#[cfg(target_arch = "wasm32")]
unsafe fn kernel(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
) {
    use core::arch::wasm32::*;

    #[inline(always)]
    unsafe fn madd(a: v128, b: v128, c: v128) -> v128 {
        #[cfg(target_feature = "relaxed-simd")]
        {
            f32x4_relaxed_madd(a, b, c)
        }
        #[cfg(not(target_feature = "relaxed-simd"))]
        {
            f32x4_add(f32x4_mul(a, b), c)
        }
    }

    const NV: usize = NR / 4; // f32x4 vectors per row of the tile
    let mut acc = [[f32x4_splat(0.0); NV]; MR];
    let (mut a, mut b) = (a, b);
    for _ in 0..kc {
        let bv: [v128; NV] = core::array::from_fn(|j| v128_load(b.add(4 * j) as *const v128));
        for (r, row) in acc.iter_mut().enumerate() {
            let ar = v128_load32_splat(a.add(r) as *const u32);
            for (v, bj) in row.iter_mut().zip(&bv) {
                *v = madd(ar, *bj, *v);
            }
        }
        a = a.add(MR);
        b = b.add(NR);
    }
    if cols == NR {
        for (r, row) in acc.iter().enumerate().take(rows) {
            for (j, v) in row.iter().enumerate() {
                let out = c.add(r * ldc + 4 * j) as *mut v128;
                v128_store(out, f32x4_add(v128_load(out), *v));
            }
        }
    } else {
        let mut buffer = [0f32; MR * NR];
        for (r, row) in acc.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                v128_store(buffer.as_mut_ptr().add(r * NR + 4 * j) as *mut v128, *v);
            }
        }
        store_partial(&buffer, c, ldc, rows, cols);
    }
}

/// The portable kernel: same blocking and edge handling, plain loops.
#[cfg(not(target_arch = "wasm32"))]
unsafe fn kernel(
    kc: usize,
    a: *const f32,
    b: *const f32,
    c: *mut f32,
    ldc: usize,
    rows: usize,
    cols: usize,
) {
    let mut buffer = [0f32; MR * NR];
    let (a, b) = (
        std::slice::from_raw_parts(a, kc * MR),
        std::slice::from_raw_parts(b, kc * NR),
    );
    for p in 0..kc {
        for r in 0..MR {
            for j in 0..NR {
                buffer[r * NR + j] += a[p * MR + r] * b[p * NR + j];
            }
        }
    }
    store_partial(&buffer, c, ldc, rows, cols);
}

/// Adds the top-left `rows × cols` of an MR × NR tile into C.
unsafe fn store_partial(tile: &[f32; MR * NR], c: *mut f32, ldc: usize, rows: usize, cols: usize) {
    for r in 0..rows {
        for j in 0..cols {
            *c.add(r * ldc + j) += tile[r * NR + j];
        }
    }
}

/// The tests' one comparison (lengths, NaN): the file tests/ share.
#[cfg(test)]
#[path = "../tests/compare/mod.rs"]
mod compare;

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, n: usize, k: usize, bias: Option<&[f32]>) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let dot: f64 = (0..k)
                    .map(|p| a[i * k + p] as f64 * b[j * k + p] as f64)
                    .sum();
                c[i * n + j] = dot as f32 + bias.map_or(0.0, |b| b[j]);
            }
        }
        c
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 500.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn every_edge_shape_matches_the_naive_product() {
        for (m, n, k) in [
            (1, 1, 1),
            (6, 8, 256),
            (7, 9, 257),
            (13, 17, 600),
            (196, 24, 64),
            (5, 3, 1000),
            // SigLIP's fc2 depth (12 k blocks), two column chunks of C, and the pool's path with the
            // `threads` feature (more than PARALLEL_MIN_MACS).
            (37, 1000, 3072),
        ] {
            let (a, b, bias) = (values(m * k, 1), values(n * k, 2), values(n, 3));
            let mut c = vec![f32::NAN; m * n];
            matmul(&a, m, &PackedB::from_rows(&b, n, k), Some(&bias), &mut c);
            let expected = naive(&a, &b, m, n, k, Some(&bias));
            let tolerance = 1e-3 * (k as f32).sqrt();
            compare::check_abs(&format!("{m}×{n}×{k}"), &c, &expected, tolerance).unwrap();
        }
    }

    #[test]
    fn strided_operands_read_and_write_in_place() {
        let (m, n, k, lda, ldc) = (9, 5, 7, 20, 13);
        let a = values(m * lda, 5);
        let b = values(n * k, 6);
        let mut c = vec![-7.0f32; m * ldc];
        matmul_strided(
            &a[3..],
            lda,
            m,
            &PackedB::from_rows(&b, n, k),
            None,
            as_uninit(&mut c[2..]),
            ldc,
        );
        let dense: Vec<f32> = (0..m)
            .flat_map(|i| a[3 + i * lda..][..k].to_vec())
            .collect();
        let expected = naive(&dense, &b, m, n, k, None);
        for i in 0..m {
            for j in 0..ldc {
                let got = c[i * ldc + j];
                match j
                    .checked_sub(2)
                    .filter(|&j| j < n && (i * ldc + 2 + j) < c.len())
                {
                    Some(j) => {
                        compare::check_abs("C", &[got], &expected[i * n + j..][..1], 1e-4).unwrap();
                    }
                    None => assert_eq!(got, -7.0, "({i}, {j}) outside C was written"),
                }
            }
        }
    }

    #[test]
    fn f16_panels_give_the_product_of_the_rounded_weights() {
        let (m, n, k) = (13, 29, 600);
        let (a, b) = (values(m * k, 7), values(n * k, 8));
        let halves: Vec<u16> = b
            .iter()
            .map(|&v| half::f16::from_f32(v).to_bits())
            .collect();
        let rounded: Vec<f32> = halves
            .iter()
            .map(|&h| half::f16::from_bits(h).to_f32())
            .collect();
        let mut c = vec![f32::NAN; m * n];
        let packed = PackedB::from_rows_f16(&halves, n, k);
        assert_eq!(packed.bytes() * 2, PackedB::from_rows(&b, n, k).bytes());
        matmul(&a, m, &packed, None, &mut c);
        let expected = naive(&a, &rounded, m, n, k, None);
        compare::check_abs("f16 panels", &c, &expected, 1e-3 * (k as f32).sqrt()).unwrap();
    }

    #[test]
    fn column_packing_is_the_transpose() {
        let (n, k) = (11, 7);
        let b = values(n * k, 4);
        let transposed: Vec<f32> = (0..k * n).map(|i| b[(i % n) * k + i / n]).collect();
        let floats = |p: PackedB| match p.data {
            Panels::F32(d) => d,
            Panels::F16(_) => unreachable!("packed from f32"),
        };
        assert_eq!(
            floats(PackedB::from_rows(&b, n, k)),
            floats(PackedB::from_columns(&transposed, n, k))
        );
    }
}
