"""How asdbench reads and writes files: atomic writes, output paths checked before any work, folders it writes
to, and arrays read without running code from them."""
