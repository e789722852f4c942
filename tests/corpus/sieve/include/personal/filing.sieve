# Included by 43-include.sieve with :personal (twice; the second include has :once).
require ["include", "variables", "fileinto"];
global "folder";
if header :contains "subject" ["report", "order"] {
  fileinto "${folder}";
}
