def pytest_configure(config):
    config.addinivalue_line("markers", "distributed: spawns a 2-process gloo group on localhost (< 20 s)")
