"""XEP-0163 personal eventing (PEP) over ``core.pep``: the XEP-0060 subset it uses."""
