from paperscope.cli import app

app(prog_name="paperscope")
