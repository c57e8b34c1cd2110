"""Appeals (customer time, first-contact resolution) and complaint remediation: the
projection job, the SQL and the API over streams/sla/appeals.py and streams/sla/remediation.py."""
