"""Language models: the phone n-gram LM of the CTC-CRF denominator."""
