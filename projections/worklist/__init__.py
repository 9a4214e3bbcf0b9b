"""The worklist view: what a coordinator's organisation subtree has to do and has done."""
