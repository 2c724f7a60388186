"""Token-by-token streaming from Amazon SageMaker JumpStart endpoints into LangChain."""
