from atende.cli import app

app()
