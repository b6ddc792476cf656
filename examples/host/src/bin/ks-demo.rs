fn main() { println!("ks-demo: todo"); }
