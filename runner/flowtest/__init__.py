"""Flow tests (`eslflow test`): simulated calls against flows, on a virtual clock.

- `loader.load_test_file(path) -> TestFile` / `find_test_files(paths)`: *.test.yaml files,
  validated (`models.case.TestCase`), errors as path:line:col;
- `harness.run_case(case, flows) -> Run`: simulator and engine in one process on trio's
  MockClock over a MemoryNetwork; the `Outcome` (commands tied to their steps, flows
  started, logs, errors, how each call ended);
- `check.check(loaded, outcome) -> [Failure]`: the matching rules and the diff;
- `suite.run_tests(paths) -> SuiteResult`; `report` (text, JUnit XML); `record`
  (`--record`); `cli.test` (the `eslflow test` command).
"""
