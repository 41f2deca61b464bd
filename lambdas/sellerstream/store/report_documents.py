"""Raw copies of report documents in S3, exactly as Amazon served them (compressed if it was)."""

from __future__ import annotations

from typing import IO, Any

from botocore.exceptions import ClientError

from sellerstream import aws


class ReportDocumentStore:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def exists(self, key: str) -> bool:
        try:
            aws.client("s3").head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def upload(self, key: str, stream: IO[bytes], *, content_type: str) -> None:
        # upload_fileobj streams in parts: memory stays flat whatever the document's size.
        aws.client("s3").upload_fileobj(stream, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def open(self, key: str) -> Any:
        return aws.client("s3").get_object(Bucket=self.bucket, Key=key)["Body"]
