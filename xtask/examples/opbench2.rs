//! temp
use burn::backend::Flex;
use burn::tensor::{Distribution, Tensor};
use std::time::Instant;
type B = Flex;
fn t<F: FnMut()>(name: &str, mut f: F) {
    for _ in 0..3 { f(); }
    let mut v = Vec::new();
    for _ in 0..9 {
        let s = Instant::now();
        for _ in 0..5 { f(); }
        v.push(s.elapsed().as_secs_f64() * 1e3 / 5.0);
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{name:40} median {:8.3} ms", v[4]);
}
fn main() {
    let d = Default::default();
    let (n, v) = (128, 32000);
    let x = Tensor::<B, 2>::random([n, v], Distribution::Normal(0.0, 1.0), &d);
    let m = x.clone().max_dim(1);
    let ones = Tensor::<B, 2>::ones([1, v], &d);
    t("max_dim(1)", || { let _ = x.clone().max_dim(1); });
    t("sum_dim(1)", || { let _ = x.clone().sum_dim(1); });
    t("exp", || { let _ = x.clone().exp(); });
    t("x - m (broadcast)", || { let _ = x.clone() - m.clone(); });
    t("x - m.expand", || { let _ = x.clone() - m.clone().expand([n, v]); });
    t("m.repeat_dim", || { let _ = m.clone().repeat_dim(1, v); });
    t("x - m.repeat_dim", || { let _ = x.clone() - m.clone().repeat_dim(1, v); });
    t("m.matmul(ones)", || { let _ = m.clone().matmul(ones.clone()); });
    t("x - m.matmul(ones)", || { let _ = x.clone() - m.clone().matmul(ones.clone()); });
    t("x.sub_scalar (contig unary)", || { let _ = x.clone().sub_scalar(1.0); });
    t("x + x (contig binary)", || { let _ = x.clone() + x.clone(); });
    t("log_softmax", || { let _ = burn::tensor::activation::log_softmax(x.clone(), 1); });
}
