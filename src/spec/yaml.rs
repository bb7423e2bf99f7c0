//! A YAML tree whose nodes remember line and column. (Stub.)
