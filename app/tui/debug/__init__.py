"""The Debug screen: step through one batch op by op, forward and backward."""
