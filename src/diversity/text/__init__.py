"""Text views: named, versioned tokenizers and exact vectorised n-gram counting."""
