"""paperscope: self-hostable research-paper discovery."""
