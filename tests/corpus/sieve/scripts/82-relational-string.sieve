# RFC 5231: :value with i;ascii-numeric vs the default comparator on the same strings.
require ["relational", "comparator-i;ascii-numeric", "variables", "fileinto"];
set "ten" "10";
if string :value "gt" :comparator "i;ascii-numeric" "${ten}" "9" {
  fileinto "NumericTenGtNine";
}
if string :value "gt" "${ten}" "9" {
  fileinto "LexicalTenGtNine";
}
if string :value "eq" :comparator "i;ascii-numeric" "abc" "xyz" {
  fileinto "NonNumbersEqual";
}
if string :count "ne" :comparator "i;ascii-numeric" ["", "a", "b"] "2" {
  fileinto "CountNotTwo";
}
