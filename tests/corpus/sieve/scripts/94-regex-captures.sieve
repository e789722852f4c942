# draft-ietf-sieve-regex §3: ${0} is the whole match, groups that did not take part are empty.
require ["regex", "variables", "fileinto"];
if header :regex "subject" "^(\\[([^]]+)\\] )?(.*)$" {
  fileinto "rx-[${2}]-[${3}]";
}
if header :regex :comparator "i;ascii-casemap" "from" "(ALICE|carol)" {
  fileinto "rx-ci-${1}";
}
