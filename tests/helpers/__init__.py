"""What several test modules share: fakes, data builders and checks. Test modules import from here (and take their
shared fixtures from tests/conftest.py), never from one another: tests/test_suite_layout.py checks it."""
