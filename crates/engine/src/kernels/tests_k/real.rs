//! The K-quant decoders on real weights: blocks decoded by gguf-py (a small fixture) and, when
//! `BEDROCK_LOCAL_TEST_QWEN_GGUF` names the Qwen GGUF, whole rows of every Q4_K/Q6_K tensor
//! against candle's dequantize, with every level's dot on those rows.

use super::super::act_k::{Q8KRow, QK_K};
use super::super::cpu::{available, Level};
use super::super::{q4_k, q6_k};
use super::{activations, level_dot, DeqFn, Rng};

#[test]
fn dequantize_matches_gguf_py_on_real_blocks() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kernels/k_quant_blocks.json"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (fmt, bytes) in [("q4_k", q4_k::BLOCK_BYTES), ("q6_k", q6_k::BLOCK_BYTES)] {
        let blocks = json["formats"][fmt].as_array().unwrap();
        assert!(!blocks.is_empty());
        for b in blocks {
            let hex = b["hex"].as_str().unwrap();
            let raw: Vec<u8> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                .collect();
            assert_eq!(raw.len(), bytes);
            let want: Vec<f32> = b["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let mut got = vec![0f32; QK_K];
            if fmt == "q4_k" {
                q4_k::dequantize(&raw, &mut got);
            } else {
                q6_k::dequantize(&raw, &mut got);
            }
            let amax = want.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() <= amax * 1e-6, "{fmt}: {g} vs {w}");
            }
        }
    }
}

/// Real Q4_K/Q6_K tensors of the Qwen GGUF (`BEDROCK_LOCAL_TEST_QWEN_GGUF`): our dequantize
/// against candle's on whole rows, and every level's dot on real rows against the f64 dot of
/// the dequantized operands.
#[test]
fn real_weights_decode_like_candle() {
    use candle_core::quantized::{gguf_file, GgmlDType, QStorage, QTensor};
    use candle_core::Device;
    use std::io::{Read, Seek, SeekFrom};
    let Some(path) = std::env::var_os("BEDROCK_LOCAL_TEST_QWEN_GGUF") else {
        println!("skipped: BEDROCK_LOCAL_TEST_QWEN_GGUF is not set");
        return;
    };
    let mut file = std::fs::File::open(path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut seen = [false; 2];
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    for name in names {
        let info = &content.tensor_infos[name];
        let (k, bb, deq): (usize, usize, DeqFn) = match info.ggml_dtype {
            GgmlDType::Q4K => (0, q4_k::BLOCK_BYTES, q4_k::dequantize),
            GgmlDType::Q6K => (1, q6_k::BLOCK_BYTES, q6_k::dequantize),
            _ => continue,
        };
        seen[k] = true;
        let dims = info.shape.dims();
        let cols = dims[dims.len() - 1];
        let rows = dims[..dims.len() - 1].iter().product::<usize>().min(24);
        let row_bytes = cols / QK_K * bb;
        let mut raw = vec![0u8; rows * row_bytes];
        file.seek(SeekFrom::Start(content.tensor_data_offset + info.offset))
            .unwrap();
        file.read_exact(&mut raw).unwrap();
        let storage = QStorage::from_data(
            std::borrow::Cow::Borrowed(&raw),
            &Device::Cpu,
            info.ggml_dtype,
        )
        .unwrap();
        let theirs: Vec<f32> = QTensor::new(storage, (rows, cols))
            .unwrap()
            .dequantize(&Device::Cpu)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let mut ours = vec![0f32; rows * cols];
        deq(&raw, &mut ours);
        let amax = theirs.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (o, t) in ours.iter().zip(&theirs) {
            assert!((o - t).abs() <= amax * 1e-6, "{name}: {o} vs {t}");
        }
        let mut rng = Rng(3);
        let x = activations(&mut rng, cols / QK_K);
        let a = Q8KRow::quantize(&x);
        for (r, w) in raw.chunks(row_bytes).enumerate() {
            let (mut exact, mut mag) = (0f64, 0f64);
            for (i, &wv) in ours[r * cols..(r + 1) * cols].iter().enumerate() {
                let av = f64::from(a.d[i / QK_K]) * f64::from(a.qs[i]);
                exact += f64::from(wv) * av;
                mag += (f64::from(wv) * av).abs();
            }
            let fmt = if k == 0 { "q4_k" } else { "q6_k" };
            let want = level_dot(fmt, Level::Scalar, w, &a);
            assert!(
                (f64::from(want) - exact).abs() <= mag * 1e-5,
                "{name} row {r}: {want} vs {exact}"
            );
            for level in available() {
                assert_eq!(
                    level_dot(fmt, level, w, &a).to_bits(),
                    want.to_bits(),
                    "{name} {level:?}"
                );
            }
        }
    }
    assert_eq!(
        seen,
        [true, true],
        "the file should hold Q4_K and Q6_K tensors"
    );
}
