"""Tests of submitting while validating (issue 18) and of validation's fast JSON reading."""
