"""``sellerstream``'s account commands: what an operator runs against a deployed stack.

They need AWS credentials and a deployed stack (its outputs, from CloudFormation or a
``cdk deploy --outputs-file`` JSON), and never print a secret, a token or a message body.
"""
