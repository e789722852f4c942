# RFC 5229 §5: string test over variables and lists.
require ["variables", "fileinto", "relational", "comparator-i;ascii-numeric"];
set "a" "alpha";
set "empty" "";
if string :is ["${a}", "beta"] ["beta", "gamma"] {
  fileinto "StringBeta";
}
if string :matches "${a}" "a*a" {
  fileinto "AlphaMatch";
}
if string :count "eq" :comparator "i;ascii-numeric" ["${a}", "${empty}"] "1" {
  fileinto "CountOne";
}
