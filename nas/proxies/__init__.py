"""Zero-cost proxies for ASR architectures: scores of untrained networks on one CTC minibatch
(nas.proxies.scores) and their survey over a space (nas.proxies.survey). Sits above nas.train
(its batches) and nas.bench (its codecs); nas.bench reads only the CSV it writes."""
