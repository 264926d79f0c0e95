package auth

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func TestCheckPassword(t *testing.T) {
	const password = "correct horse"
	hash, err := HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(hash, "$")
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		t.Fatal(err)
	}
	// withKey is the hash with the password's true key of n bytes, so
	// that only the bound on the key length can refuse it.
	withKey := func(n int) string {
		key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, uint32(n))
		p := append([]string(nil), parts...)
		p[5] = base64.RawStdEncoding.EncodeToString(key)
		return strings.Join(p, "$")
	}
	tests := []struct {
		name     string
		encoded  string
		password string
		want     bool
	}{
		{name: "right", encoded: hash, password: password, want: true},
		{name: "wrong", encoded: hash, password: password + "!"},
		{name: "empty_password", encoded: hash, password: ""},
		{name: "not_argon2id", encoded: strings.Replace(hash, "argon2id", "argon2i", 1), password: password},
		{name: "too_few_parts", encoded: strings.Join(parts[:5], "$"), password: password},
		{name: "bad_params", encoded: strings.Replace(hash, "m=", "x=", 1), password: password},
		{name: "empty_key", encoded: strings.Join(append(parts[:5:5], ""), "$"), password: password},
		{name: "longest_key", encoded: withKey(maxKeyLen), password: password, want: true},
		{name: "key_over_bound", encoded: withKey(maxKeyLen + 1), password: password},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CheckPassword(tt.encoded, tt.password); got != tt.want {
				t.Errorf("CheckPassword(%q, %q) = %v, want %v", tt.encoded, tt.password, got, tt.want)
			}
		})
	}
}

func TestCarriesPlatformToken(t *testing.T) {
	tok := TokenPrefix + "abc"
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{"Bearer app-secret"}, false},
		{[]string{"Basic Zm9vOmJhcg=="}, false},
		{[]string{"Bearer " + tok}, true},
		{[]string{"bearer   " + tok}, true},
		{[]string{tok}, true},
		{[]string{"Basic Zm9vOmJhcg==", "Bearer " + tok}, true},
		{[]string{"Basic Zm9vOmJhcg==, Bearer " + tok}, true},
		{[]string{"Custom key=" + tok}, true},
		{[]string{"Bearer\t" + tok}, true},
		{[]string{"Bearer not" + tok}, true},
		{[]string{"Bearer \u00a0" + tok}, true},
	} {
		if got := CarriesPlatformToken(tc.values); got != tc.want {
			t.Errorf("CarriesPlatformToken(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

func FuzzCarriesPlatformToken(f *testing.F) {
	f.Add("Bearer " + TokenPrefix + "x")
	f.Add("Basic abc, Bearer x")
	f.Fuzz(func(t *testing.T, v string) {
		got := CarriesPlatformToken([]string{v})
		if got != strings.Contains(v, TokenPrefix) {
			t.Fatalf("CarriesPlatformToken(%q) = %v", v, got)
		}
		// Whatever the API takes as a token from the value is caught.
		r := &http.Request{Header: http.Header{"Authorization": {v}}}
		if tok := BearerToken(r); strings.HasPrefix(tok, TokenPrefix) && !got {
			t.Fatalf("%q authenticates as a token but was not caught", v)
		}
	})
}
