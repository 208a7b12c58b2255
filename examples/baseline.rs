//! The benchmark's baseline: the smallest axum server, answering every GET
//! with the same bytes from memory (an availability answer Carebook gave), so
//! `scripts/bench.sh` can show what the machine does with no work at all.
//!
//! ```sh
//! cargo run --release --example baseline -- 127.0.0.1:18999 availability.json
//! ```

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let bind = args.next().unwrap_or_else(|| "127.0.0.1:18999".to_owned());
    let file = args.next().expect("usage: baseline BIND FILE");
    let body: &'static [u8] = Box::leak(std::fs::read(&file).expect("read the body file").into_boxed_slice());
    let app = Router::new().fallback(get(move || async move { ([(CONTENT_TYPE, "application/json")], body) }));
    let listener = tokio::net::TcpListener::bind(&bind).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
