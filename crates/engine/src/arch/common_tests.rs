//! Tests of `common.rs`: masks, the KV cache, grouped attention, embeddings, rotary tables.

use super::*;
use candle_core::{Module, D};

fn row_softmax(x: &Tensor) -> Result<Tensor> {
    Ok(candle_nn::ops::softmax(x, D::Minus1)?)
}

fn visible(m: &Option<Tensor>) -> Vec<Vec<bool>> {
    let m = m.as_ref().unwrap();
    m.to_vec2::<f32>()
        .unwrap()
        .into_iter()
        .map(|r| r.into_iter().map(|v| v == 0.0).collect())
        .collect()
}

#[test]
fn causal_mask_hides_the_future_only() {
    let m = mask(3, 2, 0, None, &Device::Cpu).unwrap();
    let v = visible(&m);
    assert_eq!(v[0], vec![true, true, true, false, false]);
    assert_eq!(v[2], vec![true, true, true, true, true]);
    assert!(mask(1, 7, 0, None, &Device::Cpu).unwrap().is_none());
}

#[test]
fn sliding_window_keeps_the_last_w_positions() {
    // Query at position 5 with window 3 sees keys 3, 4, 5.
    let m = mask(1, 5, 0, Some(3), &Device::Cpu).unwrap();
    assert_eq!(visible(&m)[0], vec![false, false, false, true, true, true]);
    // Starting at the first visible key, nothing is left to hide.
    assert_eq!(first_visible(5, Some(3)), 3);
    assert!(mask(1, 5, 3, Some(3), &Device::Cpu).unwrap().is_none());
    assert!(mask(1, 1, 0, Some(3), &Device::Cpu).unwrap().is_none());
    let m = mask(4, 0, 0, Some(2), &Device::Cpu).unwrap();
    assert_eq!(visible(&m)[3], vec![false, false, true, true]);
    // A chunk starting at 4 with window 3 sees keys from 2: rows are offset.
    let m = mask(2, 4, first_visible(4, Some(3)), Some(3), &Device::Cpu).unwrap();
    assert_eq!(
        visible(&m),
        vec![vec![true, true, true, false], vec![false, true, true, true]]
    );
}

fn positions(t: &Tensor) -> Vec<f32> {
    // Entry value = position (see `step`), read from head 0, dim 0.
    t.narrow(1, 0, 1)
        .unwrap()
        .narrow(3, 0, 1)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn step(pos: usize, n: usize) -> Tensor {
    step_heads(pos, n, 2)
}

fn step_heads(pos: usize, n: usize, heads: usize) -> Tensor {
    let data: Vec<f32> = (0..heads * n * 4)
        .map(|i| (pos + (i / 4) % n) as f32)
        .collect();
    Tensor::from_vec(data, (1, heads, n, 4), &Device::Cpu).unwrap()
}

#[test]
fn kv_cache_checks_positions_and_grows() {
    let mut c = KvCache::new(None);
    assert!(c.append(&step(1, 3), &step(1, 3), 1).is_err());
    c.append(&step(0, 3), &step(0, 3), 0).unwrap();
    assert!(c.append(&step(2, 1), &step(2, 1), 2).is_err());
    for p in 3..600 {
        c.append(&step(p, 1), &step(p, 1), p).unwrap();
    }
    let (k, v) = c.view(0).unwrap();
    assert_eq!(k.dims(), &[1, 2, 600, 4]);
    assert_eq!(
        positions(&k),
        (0..600).map(|p| p as f32).collect::<Vec<_>>()
    );
    assert_eq!(positions(&v)[599], 599.0);
    let (k, _) = c.view(590).unwrap();
    assert_eq!(
        positions(&k),
        (590..600).map(|p| p as f32).collect::<Vec<_>>()
    );
    c.append(&step(0, 2), &step(0, 2), 0).unwrap();
    assert_eq!(c.view(0).unwrap().0.dims(), &[1, 2, 2, 4]);
}

#[test]
fn sliding_cache_keeps_what_queries_can_see() {
    let mut c = KvCache::new(Some(8));
    c.append(&step(0, 100), &step(0, 100), 0).unwrap();
    for p in 100..2000 {
        c.append(&step(p, 1), &step(p, 1), p).unwrap();
        let first = first_visible(p, Some(8));
        let (k, _) = c.view(first).unwrap();
        assert_eq!(
            positions(&k),
            (first..=p).map(|x| x as f32).collect::<Vec<_>>()
        );
    }
    // Memory stays bounded by the window plus the compaction slack.
    assert!(c.k.as_ref().unwrap().dim(2).unwrap() <= 2 * (8 + WINDOW_SLACK));
    assert!(c.view(0).is_err());
}

#[test]
fn grouped_attention_equals_per_head_attention() {
    let dev = Device::Cpu;
    let q = Tensor::randn(0f32, 1.0, (1, 4, 3, 8), &dev).unwrap();
    let k = Tensor::randn(0f32, 1.0, (1, 2, 5, 8), &dev).unwrap();
    let v = Tensor::randn(0f32, 1.0, (1, 2, 5, 8), &dev).unwrap();
    let m = mask(3, 2, 0, None, &dev).unwrap();
    let got = attention(&q, &k, &v, 0.3, m.as_ref()).unwrap();
    // Reference: repeat keys/values per query head.
    let kr = candle_transformers::utils::repeat_kv(k.clone(), 2).unwrap();
    let vr = candle_transformers::utils::repeat_kv(v.clone(), 2).unwrap();
    let s = ((q.matmul(&kr.t().unwrap()).unwrap() * 0.3).unwrap())
        .broadcast_add(m.as_ref().unwrap())
        .unwrap();
    let p = candle_nn::ops::softmax_last_dim(&s).unwrap();
    let want = p
        .matmul(&vr)
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .reshape((1, 3, 32))
        .unwrap();
    let diff = (got - want)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-5, "{diff}");
}

#[test]
fn quantized_embedding_rows_match_the_dequantized_table() {
    let data: Vec<f32> = (0..8 * 64)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0)
        .collect();
    let t = Tensor::from_vec(data, (8, 64), &Device::Cpu).unwrap();
    for dtype in [GgmlDType::Q8_0, GgmlDType::F32, GgmlDType::F16] {
        let q = Arc::new(QTensor::quantize(&t, dtype).unwrap());
        let full = q.dequantize(&Device::Cpu).unwrap();
        let e = QEmbedding::new(q).unwrap();
        let rows = e
            .forward(&[3, 0, 7], &Device::Cpu)
            .unwrap()
            .squeeze(0)
            .unwrap();
        let want = full
            .index_select(&Tensor::new(&[3u32, 0, 7], &Device::Cpu).unwrap(), 0)
            .unwrap();
        assert_eq!(
            rows.to_vec2::<f32>().unwrap(),
            want.to_vec2::<f32>().unwrap(),
            "{dtype:?}"
        );
        assert!(e.forward(&[8], &Device::Cpu).is_err());
    }
}

#[test]
fn attention_with_a_full_mask_row_is_plain_softmax_attention() {
    let dev = Device::Cpu;
    let q = Tensor::new(&[[[[1f32, 0.0]]]], &dev).unwrap(); // [1,1,1,2]
    let k = Tensor::new(&[[[[1f32, 0.0], [0.0, 1.0]]]], &dev).unwrap(); // [1,1,2,2]
    let v = Tensor::new(&[[[[10f32, 0.0], [0.0, 10.0]]]], &dev).unwrap();
    let out = attention(&q, &k, &v, 1.0, None).unwrap();
    let w = row_softmax(&Tensor::new(&[1f32, 0.0], &dev).unwrap())
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let got = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    assert!((got[0] - 10.0 * w[0]).abs() < 1e-5 && (got[1] - 10.0 * w[1]).abs() < 1e-5);
}

#[test]
fn rope_at_position_zero_is_identity() {
    let rope = Rope::new(4, 10000.0, 1.0, 8, &Device::Cpu).unwrap();
    let x = Tensor::new(&[[[[1f32, 2.0, 3.0, 4.0]]]], &Device::Cpu).unwrap();
    let y = rope.apply(&x, 0).unwrap();
    assert_eq!(
        y.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        vec![1.0, 2.0, 3.0, 4.0]
    );
    assert!(rope.apply(&x, 8).is_err());
}

#[test]
fn q5_0_is_re_encoded_as_q8_0_exactly() {
    let data: Vec<f32> = (0..4 * 64)
        .map(|i| ((i * 53 % 97) as f32 - 48.0) / 7.0)
        .collect();
    let t = Tensor::from_vec(data, (4, 64), &Device::Cpu).unwrap();
    let q5 = QTensor::quantize(&t, GgmlDType::Q5_0).unwrap();
    let q8 = q5_0_as_q8_0(&q5).unwrap();
    assert_eq!(q8.dtype(), GgmlDType::Q8_0);
    let a = q5
        .dequantize(&Device::Cpu)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let b = q8
        .dequantize(&Device::Cpu)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    assert_eq!(a, b);
    // And the matrix products agree (up to float summation order).
    let x = Tensor::randn(0f32, 1.0, (3, 64), &Device::Cpu).unwrap();
    let ya = QMatMul::from_qtensor(q5).unwrap().forward(&x).unwrap();
    let yb = matmul_weight(QTensor::quantize(&t, GgmlDType::Q5_0).unwrap())
        .unwrap()
        .forward(&x)
        .unwrap();
    let diff = (ya - yb)
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
    assert!(diff < 1e-4, "{diff}");
}
