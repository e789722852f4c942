# RFC 6609 §3.2: a stop inside an included script ends the whole evaluation.
require ["include", "fileinto"];
include :personal "stopper";
fileinto "AfterInclude";
