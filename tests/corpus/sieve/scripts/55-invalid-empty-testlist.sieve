# Invalid: RFC 5228 §8.2 test-list needs at least one test.
if anyof () {
  discard;
}
