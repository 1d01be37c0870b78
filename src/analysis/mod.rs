//! Pure functions over a trace's numbers: what the page's views draw. No tensors, no DOM — slices in,
//! vectors out — so each is easy to test and cheap to call again when the user clicks.
//!
//! Layouts: `states` is (n, d) row-major, one row per patch; `attention` is (heads, n, n) with row `q`
//! the distribution of patch `q`'s attention over all patches.

/// L2 norm of each patch vector: (n, d) → n.
pub fn l2_norms(states: &[f32], d: usize) -> Vec<f32> {
    states
        .chunks_exact(d)
        .map(|row| row.iter().map(|v| v * v).sum::<f32>().sqrt())
        .collect()
}

/// Cosine similarity of every row to row `index`: (n, d) → n, in [−1, 1].
pub fn cosine_to(states: &[f32], d: usize, index: usize) -> Vec<f32> {
    let norms = l2_norms(states, d);
    let target = &states[index * d..][..d];
    states
        .chunks_exact(d)
        .zip(&norms)
        .map(|(row, norm)| {
            let dot: f32 = row.iter().zip(target).map(|(a, b)| a * b).sum();
            dot / (norm * norms[index]).max(f32::MIN_POSITIVE)
        })
        .collect()
}

/// The first three principal components of the rows (fitted on this image's patches alone), each
/// scaled to [0, 1] over the patches: (n, d) → (n, 3), ready to show as RGB. Also returns the share of
/// variance each component explains.
pub fn pca_rgb(states: &[f32], d: usize) -> (Vec<f32>, [f32; 3]) {
    let n = states.len() / d;
    let mut centered: Vec<f64> = states.iter().map(|&v| v as f64).collect();
    for j in 0..d {
        let mean = (0..n).map(|i| centered[i * d + j]).sum::<f64>() / n as f64;
        (0..n).for_each(|i| centered[i * d + j] -= mean);
    }
    // Gram matrix (n, n): its eigenvectors, scaled by √λ, are the patches' PCA scores.
    let mut gram = vec![0f64; n * n];
    for i in 0..n {
        for j in i..n {
            let dot: f64 = centered[i * d..][..d]
                .iter()
                .zip(&centered[j * d..][..d])
                .map(|(a, b)| a * b)
                .sum();
            gram[i * n + j] = dot;
            gram[j * n + i] = dot;
        }
    }
    let total: f64 = (0..n)
        .map(|i| gram[i * n + i])
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let mut rgb = vec![0f32; n * 3];
    let mut explained = [0f32; 3];
    for c in 0..3.min(n) {
        let (vector, value) = top_eigenvector(&gram, n);
        explained[c] = (value / total) as f32;
        // Deflate so the next iteration finds the next component.
        for i in 0..n {
            for j in 0..n {
                gram[i * n + j] -= value * vector[i] * vector[j];
            }
        }
        // Fix the sign so the patch with the largest |score| is bright (PCA's sign is arbitrary).
        let flip = if vector
            .iter()
            .fold(0f64, |m, v| if v.abs() > m.abs() { *v } else { m })
            < 0.0
        {
            -1.0
        } else {
            1.0
        };
        let scores: Vec<f64> = vector
            .iter()
            .map(|v| flip * v * value.max(0.0).sqrt())
            .collect();
        let (lo, hi) = scores
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &s| (lo.min(s), hi.max(s)));
        for i in 0..n {
            rgb[i * 3 + c] = if hi > lo {
                ((scores[i] - lo) / (hi - lo)) as f32
            } else {
                0.5
            };
        }
    }
    (rgb, explained)
}

/// Power iteration on a symmetric positive semi-definite (n, n) matrix.
fn top_eigenvector(matrix: &[f64], n: usize) -> (Vec<f64>, f64) {
    let mut v: Vec<f64> = (0..n).map(|i| 1.0 + (i as f64 * 0.618).fract()).collect();
    let mut value = 0.0;
    for _ in 0..200 {
        let w: Vec<f64> = (0..n)
            .map(|i| {
                matrix[i * n..][..n]
                    .iter()
                    .zip(&v)
                    .map(|(a, b)| a * b)
                    .sum()
            })
            .collect();
        let norm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 {
            return (vec![0.0; n], 0.0);
        }
        let next: Vec<f64> = w.iter().map(|x| x / norm).collect();
        let change: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
        v = next;
        value = norm;
        if change < 1e-10 {
            break;
        }
    }
    (v, value)
}

/// How the heads of one layer are fused in attention rollout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fusion {
    Mean,
    Max,
    Min,
}

impl Fusion {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "mean" => Some(Fusion::Mean),
            "max" => Some(Fusion::Max),
            "min" => Some(Fusion::Min),
            _ => None,
        }
    }
}

/// Fuses the heads of one layer: (heads, per_head) → per_head, e.g. (heads, n, n) → (n, n) or one
/// query's rows (heads, n) → n.
pub fn fuse_heads(attention: &[f32], per_head: usize, fusion: Fusion) -> Vec<f32> {
    let heads = attention.len() / per_head;
    let mut fused = attention[..per_head].to_vec();
    for head in attention.chunks_exact(per_head).skip(1) {
        for (f, &a) in fused.iter_mut().zip(head) {
            *f = match fusion {
                Fusion::Mean => *f + a,
                Fusion::Max => f.max(a),
                Fusion::Min => f.min(a),
            };
        }
    }
    if fusion == Fusion::Mean {
        fused.iter_mut().for_each(|f| *f /= heads as f32);
    }
    fused
}

/// Attention rollout (Abnar & Zuidema, 2020): per layer `0.5·A + 0.5·I` with heads fused, rows
/// renormalised, multiplied through the layers from the first to the last. Returns (n, n): row `q` is
/// how much of patch `q`'s final state flows from each input patch.
pub fn rollout(layers: &[Vec<f32>], n: usize, fusion: Fusion) -> Vec<f32> {
    let mut result: Vec<f32> = (0..n * n)
        .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
        .collect();
    for attention in layers {
        let mut a = fuse_heads(attention, n * n, fusion);
        for (q, row) in a.chunks_exact_mut(n).enumerate() {
            row[q] += 1.0;
            let sum: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= sum);
        }
        // result ← a · result (the newest layer applies last): (n, n) · (n, n) through the SIMD GEMM,
        // which reads result's columns as the packed operand.
        let mut next = vec![0f32; n * n];
        crate::gemm::matmul(
            &a,
            n,
            &crate::gemm::PackedB::from_columns(&result, n, n),
            None,
            &mut next,
        );
        result = next;
    }
    result
}

/// Mean over rows of an (n, n) matrix: the average over all query patches.
pub fn mean_rows(matrix: &[f32], n: usize) -> Vec<f32> {
    let mut mean = vec![0f32; n];
    for row in matrix.chunks_exact(n) {
        mean.iter_mut()
            .zip(row)
            .for_each(|(m, v)| *m += v / n as f32);
    }
    mean
}

/// Per head of one layer: the mean attention distance in pixels (ViT paper, fig. 7: the distance
/// between query and key patch centres, weighted by attention, averaged over queries) and the mean
/// entropy of the attention rows in nats. (heads, n, n) on a `grid × grid` layout → heads × 2.
pub fn head_stats(attention: &[f32], grid: usize, patch_size: usize) -> Vec<[f32; 2]> {
    let n = grid * grid;
    attention
        .chunks_exact(n * n)
        .map(|head| {
            let (mut distance, mut entropy) = (0f64, 0f64);
            for (q, row) in head.chunks_exact(n).enumerate() {
                let (qy, qx) = ((q / grid) as f64, (q % grid) as f64);
                for (k, &p) in row.iter().enumerate() {
                    let (ky, kx) = ((k / grid) as f64, (k % grid) as f64);
                    distance += p as f64 * ((qy - ky).powi(2) + (qx - kx).powi(2)).sqrt();
                    if p > 0.0 {
                        entropy -= p as f64 * (p as f64).ln();
                    }
                }
            }
            [
                (distance / n as f64 * patch_size as f64) as f32,
                (entropy / n as f64) as f32,
            ]
        })
        .collect()
}

/// Each patch-embedding filter (d, c, p, p) as a small RGBA image (p, p), each filter scaled
/// symmetrically around mid-grey by its own largest |weight|: → d × p × p × 4 bytes.
pub fn filters_rgba(weights: &[f32], channels: usize, patch: usize) -> Vec<u8> {
    let per_filter = channels * patch * patch;
    let mut out = Vec::with_capacity(weights.len() / per_filter * patch * patch * 4);
    for filter in weights.chunks_exact(per_filter) {
        let scale = filter
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        for i in 0..patch * patch {
            for c in 0..3 {
                let v = filter[(c % channels) * patch * patch + i];
                out.push((127.5 + 127.5 * v / scale).round().clamp(0.0, 255.0) as u8);
            }
            out.push(255);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollout_of_identity_attention_is_identity() {
        let n = 3;
        let eye: Vec<f32> = (0..n * n)
            .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
            .collect();
        let r = rollout(&[eye.clone(), eye.clone()], n, Fusion::Mean);
        assert_eq!(r, eye);
    }

    #[test]
    fn rollout_rows_stay_distributions() {
        let n = 4;
        let uniform = vec![0.25f32; 2 * n * n];
        let r = rollout(&[uniform.clone(), uniform], n, Fusion::Max);
        for row in r.chunks_exact(n) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        // One layer of uniform attention: 0.5·(1/4) + 0.5·δ → diagonal 0.625, off-diagonal 0.125.
        let one = rollout(&[vec![0.25f32; n * n]], n, Fusion::Mean);
        assert!((one[0] - 0.625).abs() < 1e-6 && (one[1] - 0.125).abs() < 1e-6);
    }

    #[test]
    fn head_stats_of_self_attention_are_zero_and_of_uniform_are_log_n() {
        let (grid, n) = (2, 4);
        let eye: Vec<f32> = (0..n * n)
            .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
            .collect();
        assert_eq!(head_stats(&eye, grid, 16), vec![[0.0, 0.0]]);
        let stats = head_stats(&vec![0.25; n * n], grid, 16);
        // Each query: 0 + 1 + 1 + √2 patches away, / 4, × 16 px.
        assert!((stats[0][0] - (2.0 + 2f32.sqrt()) / 4.0 * 16.0).abs() < 1e-4);
        assert!((stats[0][1] - (4f32).ln()).abs() < 1e-6);
    }

    #[test]
    fn pca_separates_two_clusters_on_the_first_component() {
        let d = 3;
        let states = [1.0, 0.0, 0.0, 1.1, 0.0, 0.1, -1.0, 0.0, 0.0, -1.1, 0.1, 0.0];
        let (rgb, explained) = pca_rgb(&states, d);
        assert!(explained[0] > 0.9, "{explained:?}");
        let first: Vec<f32> = rgb.chunks_exact(3).map(|p| p[0]).collect();
        assert!(
            (first[0] - first[1]).abs() < 0.1
                && (first[2] - first[3]).abs() < 0.1
                && (first[0] - first[2]).abs() > 0.8
        );
    }

    #[test]
    fn cosine_and_norms() {
        let states = [3.0, 4.0, -3.0, -4.0, 4.0, -3.0];
        assert_eq!(l2_norms(&states, 2), vec![5.0, 5.0, 5.0]);
        let c = cosine_to(&states, 2, 0);
        assert!((c[0] - 1.0).abs() < 1e-6 && (c[1] + 1.0).abs() < 1e-6 && c[2].abs() < 1e-6);
    }
}
