//! In-process figures: how fast the readers of Concur's answers are, without the network.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const XML: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<Access_Token>\r\n  \
<Instance_Url>https://www-us.api.concursolutions.com/</Instance_Url>\r\n  \
<Token>0_7c94af6db3d7e2f1000042</Token>\r\n  \
<Expiration_date>11/23/2027 8:06:08 PM</Expiration_date>\r\n  \
<Refresh_Token>R_27c7f908403e0113000042</Refresh_Token>\r\n</Access_Token>";

const JSON: &[u8] = br#"{"Access_Token":{"Instance_Url":"https://www-us.api.concursolutions.com/","Token":"0_7c94af6db3d7e2f1000042","Expiration_date":"11/23/2027 8:06:08 PM","Refresh_Token":"R_27c7f908403e0113000042"}}"#;

fn parsing(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_token_document");
    group.throughput(Throughput::Elements(1));
    group.bench_function("xml", |b| {
        b.iter(|| concur_native::parse_token_document(black_box(XML), Some("text/xml")).unwrap())
    });
    group.bench_function("json", |b| {
        b.iter(|| {
            concur_native::parse_token_document(black_box(JSON), Some("application/json")).unwrap()
        })
    });
    group.finish();
    c.bench_function("parse_callback", |b| {
        b.iter(|| {
            concur_native::parse_callback(
                black_box(
                    "https://partner.example/cb?code=C_0123456789abcdef&state=0123456789abcdef",
                ),
                Some("0123456789abcdef"),
            )
            .unwrap()
        })
    });
}

criterion_group!(benches, parsing);
criterion_main!(benches);
