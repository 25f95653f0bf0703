"""The inference endpoint of a deployment (`endpoint_base_url`): no container runs,
a built-in responder echoes each request, and the queue drives the autoscaler."""
