"""helsegraf's benchmarks: `python -m bench --help`."""
